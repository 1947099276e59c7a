package io.expertmesh.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.TinyModel;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.engine.ModelSource;
import io.expertmesh.model.gguf.GgufFile;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.safetensors.Tensor;
import io.expertmesh.model.tokenizer.GgufTokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuantizeCommandTest {
    @TempDir
    Path tmp;

    private String quantize(String... args) {
        var out = new ByteArrayOutputStream();
        QuantizeCommand.run(args, TinyModel.dir(), new PrintStream(out, true), new PrintStream(new ByteArrayOutputStream()));
        return out.toString();
    }

    @Test
    void writesTheFileAndSummarisesItsTensorsPerType() {
        Path file = tmp.resolve("tiny.gguf");
        String summary = quantize("--type", "q4_0", "--out", file.toString(), "--threads", "2");
        assertTrue(summary.startsWith("wrote " + file + ": q4_0, 53 tensors (15 F32, 1 Q8_0, 37 Q4_0; 1 fell back"), summary);
        assertTrue(Files.exists(file));
        assertFalse(Files.exists(tmp.resolve("tiny.gguf.tmp")), "the temporary file is renamed");
        try (LoadedModel model = LoadedModel.open(file, 1)) {
            assertEquals(DType.Q4_0, model.weights().layers().get(0).attention().q().weight().dtype());
        }
    }

    @Test
    void anExistingOutputIsReplacedOnlyWithForce() throws IOException {
        Path file = tmp.resolve("existing.gguf");
        Files.writeString(file, "keep me");
        var e = assertThrows(UsageException.class, () -> quantize("--type", "q8_0", "--out", file.toString()));
        assertEquals("--out: " + file + " exists; give --force to replace it", e.getMessage());
        assertEquals("keep me", Files.readString(file));
        quantize("--type", "q8_0", "--out", file.toString(), "--force");
        assertTrue(ModelSource.of(file).isGguf());
    }

    @Test
    void anUnknownTypeIsAUsageErrorListingTheAcceptedOnes() {
        var e = assertThrows(UsageException.class, () -> quantize("--type", "q5_k_m", "--out", tmp.resolve("x.gguf").toString()));
        assertEquals("--type: unknown quantization type 'q5_k_m'; accepted: q8_0, q4_0, q4_k_m", e.getMessage());
    }

    @Test
    void aMissingModelOrOutputDirectoryIsAUsageErrorNamingIt() {
        var model = assertThrows(UsageException.class,
                () -> quantize("--model", tmp.resolve("nope").toString(), "--type", "q8_0", "--out", tmp.resolve("x.gguf").toString()));
        assertTrue(model.getMessage().startsWith("--model: " + tmp.resolve("nope") + ": not found"), model.getMessage());
        var out = assertThrows(UsageException.class, () -> quantize("--type", "q8_0", "--out", tmp.resolve("no/dir/x.gguf").toString()));
        assertEquals("--out: directory " + tmp.resolve("no/dir") + " does not exist", out.getMessage());
        var ext = assertThrows(UsageException.class, () -> quantize("--type", "q8_0", "--out", tmp.resolve("x.bin").toString()));
        assertEquals("--out: " + tmp.resolve("x.bin") + " should end in .gguf", ext.getMessage());
    }

    @Test
    void synthQuantizeWritesTheSameBlocksAsQuantizingItsSafetensors() {
        String config = TinyModel.dir().resolve("config.json").toString();
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        Path bf16 = tmp.resolve("bf16"), direct = tmp.resolve("direct");
        Synth.run(new String[] {"--config", config, "--layers", "2", "--out", bf16.toString(), "--seed", "3"}, quiet, quiet);
        Synth.run(new String[] {"--config", config, "--layers", "2", "--out", direct.toString(), "--seed", "3", "--quantize", "q8_0"}, quiet, quiet);
        Path viaQuantize = tmp.resolve("via-quantize.gguf");
        quantize("--model", bf16.toString(), "--type", "q8_0", "--out", viaQuantize.toString());
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> a = GgufFile.open(direct.resolve("model.gguf"), arena).tensors();
            Map<String, Tensor> b = GgufFile.open(viaQuantize, arena).tensors();
            assertEquals(b.keySet(), a.keySet());
            for (String name : a.keySet()) {
                assertEquals(b.get(name).dtype(), a.get(name).dtype(), name);
                assertEquals(-1, a.get(name).data().mismatch(b.get(name).data()), name);
            }
        }
        var tokenizer = ModelSource.of(direct.resolve("model.gguf")).tokenizer();
        assertEquals("Hello, world!", tokenizer.decode(tokenizer.encode("Hello, world!"), false), "the file's own vocabulary serves");
        try (Arena arena = Arena.ofConfined()) {
            var metadata = GgufFile.open(direct.resolve("model.gguf"), arena).metadata();
            assertEquals("llama", metadata.string(GgufTokenizer.MODEL_KEY), "a vocabulary llama.cpp loads");
            assertEquals(4096, metadata.strings("tokenizer.ggml.tokens").length);
        }
    }
}
