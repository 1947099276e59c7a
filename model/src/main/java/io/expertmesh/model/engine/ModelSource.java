package io.expertmesh.model.engine;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.gguf.GgufCheckpoint;
import io.expertmesh.model.gguf.GgufErnieConfig;
import io.expertmesh.model.gguf.GgufFile;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.tokenizer.ChatTemplate;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a model is read from: a Hugging Face directory (config.json, safetensors, tokenizer files), or
 * one GGUF file. A GGUF file's tokenizer and chat template are not read from its metadata yet
 * ({@code tokenizer.ggml.*}): they come from Hugging Face tokenizer files in the same directory.
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

    public Tokenizer tokenizer() {
        return Tokenizer.load(tokenizerDir());
    }

    public ChatTemplate chatTemplate() {
        return ChatTemplate.load(tokenizerDir());
    }

    /** The directory holding the Hugging Face tokenizer files: the model directory, or the GGUF file's. */
    public Path tokenizerDir() {
        if (!gguf) return path;
        Path dir = path.toAbsolutePath().getParent();
        if (!Files.isRegularFile(dir.resolve(TOKENIZER_FILE))) {
            throw new ModelFormatException(path + ": the tokenizer of a GGUF file is not read from its metadata (tokenizer.ggml.*) yet; "
                    + "put the model's Hugging Face tokenizer files (" + TOKENIZER_FILE + ", tokenizer_config.json) beside it in " + dir);
        }
        return dir;
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
