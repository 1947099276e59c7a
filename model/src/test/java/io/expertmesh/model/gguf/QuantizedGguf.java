package io.expertmesh.model.gguf;

import io.expertmesh.model.TinyModel;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.kernels.ParallelRunner;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.tokenizer.GgufTokenizerMetadata;
import java.nio.file.Path;

/** Writes the bundled tiny model as a quantized GGUF file, as {@code mesh quantize} does. */
public final class QuantizedGguf {
    private QuantizedGguf() {}

    public static Path writeTiny(Path dir, GgufFileType type) {
        Path file = dir.resolve("tiny-" + type.cliName() + ".gguf");
        ErnieConfig config = ErnieConfig.load(TinyModel.dir());
        var metadata = ErnieGgufMetadata.of("tiny", config, type, GgufTokenizerMetadata.fromModelDirectory(TinyModel.dir()));
        try (Checkpoint checkpoint = Checkpoint.open(TinyModel.dir()); var runner = new ParallelRunner(2)) {
            GgufModelWriter.write(file, metadata, GgufLayout.of(config, type), (name, use) -> use.accept(checkpoint.tensor(name)), runner, t -> {});
        }
        return file;
    }
}
