package io.expertmesh.model.engine;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.gguf.GgufCheckpoint;
import io.expertmesh.model.gguf.GgufErnieConfig;
import io.expertmesh.model.gguf.GgufFile;
import io.expertmesh.model.gguf.GgufMetadata;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.tokenizer.ChatTemplate;
import io.expertmesh.model.tokenizer.GgufTokenizer;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a model is read from: a Hugging Face directory (config.json, safetensors, tokenizer files), or
 * one GGUF file. A GGUF file's tokenizer and chat template come from its own metadata
 * ({@code tokenizer.ggml.*}, {@code tokenizer.chat_template}); Hugging Face files beside it are only
 * the fallback for a file that lacks them.
 */
public final class ModelSource {
    static final String TOKENIZER_FILE = "tokenizer.json";

    private final Path path;
    private final boolean gguf;

    private ModelSource(Path path, boolean gguf) {
        this.path = path;
        this.gguf = gguf;
    }

    /** A model directory, or a file named {@code *.gguf}. */
    public static ModelSource of(Path path) {
        if (Files.isDirectory(path)) return new ModelSource(path, false);
        if (Files.isRegularFile(path) && GgufFile.isGgufName(path)) return new ModelSource(path, true);
        if (!Files.exists(path)) throw new ModelFormatException(path + ": not found (expected a model directory or a .gguf file)");
        throw new ModelFormatException(path + ": not a model directory or a .gguf file");
    }

    public Path path() {
        return path;
    }

    public boolean isGguf() {
        return gguf;
    }

    /** The name the model is served under: the directory's name, or the GGUF file's without its extension. */
    public String id() {
        String name = path.toAbsolutePath().normalize().getFileName().toString();
        return gguf ? name.substring(0, name.length() - GgufFile.EXTENSION.length()) : name;
    }

    /** config.json of a directory, or a GGUF file's metadata. */
    public ErnieConfig config() {
        if (!gguf) return ErnieConfig.load(path);
        try (Arena arena = Arena.ofConfined()) {
            return GgufErnieConfig.from(GgufFile.open(path, arena));
        }
    }

    /** The mapped tensors under their Hugging Face names; the caller closes them. */
    public Checkpoint openCheckpoint() {
        return gguf ? GgufCheckpoint.open(path) : Checkpoint.open(path);
    }

    /**
     * A directory's tokenizer.json; a GGUF file's own {@code tokenizer.ggml.*} metadata, or, for a file
     * without it, the Hugging Face tokenizer.json beside it.
     */
    public Tokenizer tokenizer() {
        if (!gguf) return Tokenizer.load(path);
        GgufMetadata metadata = metadata();
        if (metadata.has(GgufTokenizer.MODEL_KEY)) return GgufTokenizer.from(metadata);
        Path dir = siblingDir();
        if (!Files.isRegularFile(dir.resolve(TOKENIZER_FILE))) {
            throw new ModelFormatException(path + ": metadata key " + GgufTokenizer.MODEL_KEY + " is missing (the file has no tokenizer), "
                    + "and there is no " + TOKENIZER_FILE + " beside it in " + dir);
        }
        return Tokenizer.load(dir);
    }

    /**
     * A directory's chat template; a GGUF file's {@code tokenizer.chat_template}, or, for a file without
     * it, chat_template.jinja or tokenizer_config.json beside it.
     */
    public ChatTemplate chatTemplate() {
        if (!gguf) return ChatTemplate.load(path);
        GgufMetadata metadata = metadata();
        if (metadata.has(GgufTokenizer.CHAT_TEMPLATE_KEY)) return GgufTokenizer.chatTemplate(metadata);
        Path dir = siblingDir();
        if (!Files.isRegularFile(dir.resolve("chat_template.jinja")) && !Files.isRegularFile(dir.resolve("tokenizer_config.json"))) {
            throw new ModelFormatException(path + ": metadata key " + GgufTokenizer.CHAT_TEMPLATE_KEY + " is missing, and there is no "
                    + "chat_template.jinja or tokenizer_config.json beside it in " + dir);
        }
        return ChatTemplate.load(dir);
    }

    private GgufMetadata metadata() {
        try (Arena arena = Arena.ofConfined()) {
            return GgufFile.open(path, arena).metadata();
        }
    }

    private Path siblingDir() {
        return path.toAbsolutePath().getParent();
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
