package io.expertmesh.tools;

import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.engine.ModelSource;
import io.expertmesh.model.gguf.ErnieGgufMetadata;
import io.expertmesh.model.gguf.GgufFile;
import io.expertmesh.model.gguf.GgufFileType;
import io.expertmesh.model.gguf.GgufLayout;
import io.expertmesh.model.gguf.GgufModelWriter;
import io.expertmesh.model.gguf.GgufValue;
import io.expertmesh.model.kernels.ParallelRunner;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.tokenizer.GgufTokenizerMetadata;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * {@code mesh quantize}: writes a model (a Hugging Face directory or a GGUF file) as a quantized
 * {@code ernie4_5-moe} GGUF file that llama.cpp and ExpertMesh both load, with llama.cpp's mix of
 * tensor types for the file type ({@link GgufFileType}) and the tokenizer and chat template inside.
 */
public final class QuantizeCommand {
    public static final Option TYPE = Option.required("type", "TYPE",
            "the file type: " + GgufFileType.accepted() + " (llama.cpp's mix of tensor types for it; see docs/models.md)");
    public static final CommandSpec SPEC = CommandSpec.of("quantize",
            "Writes a model as a quantized GGUF file (Q8_0, Q4_0 or Q4_K_M, llama.cpp's tensor mix) with its tokenizer.",
            ModelCommands.MODEL.withHelp("the model to quantize: a Hugging Face directory (safetensors, config.json, tokenizer.model) or a GGUF file"),
            TYPE,
            Option.required("out", "FILE.gguf", "the file to write (written to FILE.gguf.tmp, then renamed)"),
            Option.flag("force", "replace --out if it exists"),
            ModelCommands.THREADS);

    private QuantizeCommand() {}

    public static void run(String[] argv, Path defaultModel, PrintStream out, PrintStream err) {
        CliArgs a = CliArgs.parse(SPEC, argv);
        GgufFileType type = fileType(a, "type");
        Path outFile = outFile(a);
        ModelSource source = ModelSource.of(a.model("model", defaultModel));
        ErnieConfig config = source.config();
        Map<String, GgufValue> tokenizer = tokenizerMetadata(source);
        try (Checkpoint checkpoint = source.openCheckpoint(); var runner = new ParallelRunner(ModelCommands.threads(a))) {
            Summary s = write(outFile, source.id(), config, type, tokenizer, (name, use) -> use.accept(checkpoint.tensor(name)), runner, err);
            out.println(s.describe(outFile, type));
            if (tokenizer.isEmpty()) {
                out.println("note: " + source + " has no tokenizer.model, so the file has no tokenizer; "
                        + "ExpertMesh reads tokenizer.json beside it, llama.cpp cannot tokenize text with it");
            }
        }
    }

    /** The file type option {@code --name} names, or a usage error listing the accepted names. */
    static GgufFileType fileType(CliArgs a, String option) {
        try {
            return GgufFileType.parse(a.required(option));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--" + option + ": " + e.getMessage());
        }
    }

    private static Path outFile(CliArgs a) {
        Path file = Path.of(a.required("out"));
        if (!GgufFile.isGgufName(file)) throw new UsageException("--out: " + file + " should end in " + GgufFile.EXTENSION);
        if (Files.exists(file) && !a.flag("force")) throw new UsageException("--out: " + file + " exists; give --force to replace it");
        if (Files.isDirectory(file)) throw new UsageException("--out: " + file + " is a directory");
        requireWritableDirectory(file.toAbsolutePath().getParent(), "--out");
        return file;
    }

    static void requireWritableDirectory(Path dir, String option) {
        if (!Files.isDirectory(dir)) throw new UsageException(option + ": directory " + dir + " does not exist");
        if (!Files.isWritable(dir)) throw new UsageException(option + ": directory " + dir + " is not writable");
    }

    /** A GGUF file's own tokenizer.* entries; a directory's from tokenizer.model; none for a directory without one. */
    private static Map<String, GgufValue> tokenizerMetadata(ModelSource source) {
        if (source.isGguf()) {
            try (Arena arena = Arena.ofConfined()) {
                Map<String, GgufValue> m = new LinkedHashMap<>();
                GgufFile.open(source.path(), arena).metadata().values().forEach((k, v) -> {
                    if (k.startsWith("tokenizer.")) m.put(k, v);
                });
                return m;
            }
        }
        if (!Files.isRegularFile(source.path().resolve("tokenizer.model"))) return Map.of();
        return GgufTokenizerMetadata.fromModelDirectory(source.path());
    }

    /** What was written: the layout (tensors and their types), the file's size and the seconds it took. */
    record Summary(GgufLayout layout, long bytes, double seconds) {
        String describe(Path file, GgufFileType type) {
            String perType = layout.countByType().entrySet().stream().map(e -> e.getValue() + " " + e.getKey())
                    .collect(Collectors.joining(", "));
            long fellBack = layout.tensors().stream().filter(t -> t.type().fellBack()).count();
            return String.format("wrote %s: %s, %d tensors (%s%s), %.1f M weights, %d bytes (%.2f GB) in %.1f s", file,
                    type.cliName(), layout.tensors().size(), perType,
                    fellBack > 0 ? "; " + fellBack + " fell back to another type: rows not a multiple of the block" : "",
                    layout.elements() / 1e6, bytes, bytes / 1e9, seconds);
        }
    }

    /** Writes {@code file} through a temporary file beside it, renamed when complete, with progress on {@code err}. */
    static Summary write(Path file, String name, ErnieConfig config, GgufFileType type, Map<String, GgufValue> tokenizer,
                         GgufModelWriter.SourceTensors source, ParallelRunner runner, PrintStream err) {
        long start = System.nanoTime();
        GgufLayout layout = GgufLayout.of(config, type);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        var progress = new Progress(err, "quantize " + file.getFileName(), layout.elements() / 1e6, "M weights");
        try {
            GgufModelWriter.write(tmp, ErnieGgufMetadata.of(name, config, type, tokenizer), layout, source, runner,
                    t -> progress.advance(t.elements() / 1e6));
            progress.finish();
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return new Summary(layout, Files.size(file), (System.nanoTime() - start) / 1e9);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + file + ": " + e.getMessage(), e);
        } catch (UncheckedIOException e) {
            // An I/O failure while writing (disk full, a file system that refuses the mapping) is one line, not a crash report.
            throw new IllegalStateException(e.getMessage(), e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    private static void deleteQuietly(Path tmp) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException e) {
            // Nothing to do: the temporary file is named after the output, and the next run replaces it.
        }
    }
}
