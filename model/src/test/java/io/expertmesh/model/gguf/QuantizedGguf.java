package io.expertmesh.model.gguf;

import io.expertmesh.model.TinyModel;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.kernels.ParallelRunner;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.tokenizer.GgufTokenizerMetadata;
import java.nio.file.Path;
import java.util.Map;

/** Writes the bundled tiny model as a quantized GGUF file, as {@code mesh quantize} does. */
public final class QuantizedGguf {
    private QuantizedGguf() {}

    public static Path writeTiny(Path dir, GgufFileType type) {
        return writeTiny(dir, type, Map.of());
    }

    /**
     * The same with some tensors (GGUF names) in another type than {@code type}'s rules give them: the
     * tiny model's rows are too short for some types to occur otherwise (no Q6_K in its Q4_K_M file).
     */
    public static Path writeTiny(Path dir, GgufFileType type, Map<String, DType> overrides) {
        Path file = dir.resolve("tiny-" + type.cliName() + (overrides.isEmpty() ? "" : "-" + overrides.hashCode()) + ".gguf");
        ErnieConfig config = ErnieConfig.load(TinyModel.dir());
        var metadata = ErnieGgufMetadata.of("tiny", config, type, GgufTokenizerMetadata.fromModelDirectory(TinyModel.dir()));
        GgufLayout planned = GgufLayout.of(config, type);
        var layout = new GgufLayout(config, type, planned.tensors().stream().map(t -> !overrides.containsKey(t.name()) ? t
                : new GgufLayout.PlannedTensor(t.name(), t.shape(), new GgufFileType.TensorType(overrides.get(t.name()), false), t.sources())).toList());
        try (Checkpoint checkpoint = Checkpoint.open(TinyModel.dir()); var runner = new ParallelRunner(2)) {
            GgufModelWriter.write(file, metadata, layout, (name, use) -> use.accept(checkpoint.tensor(name)), runner, t -> {});
        }
        return file;
    }
}
