package io.expertmesh.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.TinyModel;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.engine.ForwardTrace;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.engine.SequenceChunk;
import io.expertmesh.model.engine.SequenceKvCache;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.safetensors.SafetensorsWriter.Entry;
import io.expertmesh.model.weights.ErnieWeights;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    @TempDir
    Path tmp;

    @Test
    void shardedAndSingleFileCopiesGiveIdenticalTensorsAndLogits() throws IOException {
        Path single = copyAsSingleFile(UnaryOperator.identity());
        try (Checkpoint sharded = Checkpoint.open(TinyModel.dir()); Checkpoint one = Checkpoint.open(single)) {
            assertEquals(sharded.names(), one.names());
            for (String name : sharded.names()) {
                Tensor a = sharded.tensor(name), b = one.tensor(name);
                assertEquals(a.dtype(), b.dtype(), name);
                assertArrayEquals(a.shape(), b.shape(), name);
                assertEquals(-1, a.data().mismatch(b.data()), name);
            }
        }
        int[] prompt = {3, 4053, 1449, 4012, 838, 718};
        assertArrayEquals(lastLogits(TinyModel.dir(), prompt), lastLogits(single, prompt));
    }

    @Test
    void f32AndF16CopiesOfTheBf16WeightsGiveTheSameLogits() throws IOException {
        int[] prompt = {3, 4053, 1449, 4012, 838, 718, 1082, 334};
        float[] bf16 = lastLogits(TinyModel.dir(), prompt);
        float[] f32 = lastLogits(convertedCopy(DType.F32), prompt);
        float[] f16 = lastLogits(convertedCopy(DType.F16), prompt);
        assertArrayEquals(bf16, f32, "widening BF16 to F32 is exact, and the kernels sum in the same order");
        for (int t = 0; t < bf16.length; t++) assertEquals(bf16[t], f16[t], 1e-3, "logit " + t);
    }

    @Test
    void truncatedFileIsRefusedNamingFileAndTensor() throws IOException {
        Path dir = modelCopy();
        Path shard = dir.resolve("model-00002-of-00002.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
            f.setLength(f.length() - 1000);
        }
        var e = assertThrows(ModelFormatException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains("model-00002-of-00002.safetensors"), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        assertTrue(e.getMessage().contains("tensor "), e.getMessage());
    }

    @Test
    void wrongShapeIsRefusedNamingTensorExpectedAndFound() throws IOException {
        String name = "model.layers.1.self_attn.k_proj.weight";
        Path dir = copyAsSingleFile(e -> e.name().equals(name) ? new Entry(name, e.dtype(), new long[] {16, 128}) : e);
        try (Checkpoint c = Checkpoint.open(dir)) {
            var e = assertThrows(ModelFormatException.class, () -> ErnieWeights.load(c, ErnieConfig.load(dir)));
            assertTrue(e.getMessage().contains(name), e.getMessage());
            assertTrue(e.getMessage().contains("expected shape [32, 128], found [16, 128]"), e.getMessage());
        }
    }

    @Test
    void missingTensorIsRefusedByName() throws IOException {
        String name = "model.layers.2.mlp.moe_statics.e_score_correction_bias";
        Path dir = copyAsSingleFile(e -> e.name().equals(name) ? null : e);
        try (Checkpoint c = Checkpoint.open(dir)) {
            var e = assertThrows(ModelFormatException.class, () -> ErnieWeights.load(c, ErnieConfig.load(dir)));
            assertTrue(e.getMessage().contains("missing tensor " + name), e.getMessage());
        }
    }

    @Test
    void unsupportedWeightDtypeIsRefusedByName() throws IOException {
        String name = "model.norm.weight";
        Path dir = copyAsSingleFile(e -> e.name().equals(name) ? new Entry(name, DType.I16, e.shape()) : e);
        try (Checkpoint c = Checkpoint.open(dir)) {
            var e = assertThrows(ModelFormatException.class, () -> ErnieWeights.load(c, ErnieConfig.load(dir)));
            assertTrue(e.getMessage().contains(name) && e.getMessage().contains("I16"), e.getMessage());
        }
    }

    @Test
    void headerLongerThanTheFileIsRefused() throws IOException {
        Path file = tmp.resolve("bad.safetensors");
        byte[] bytes = new byte[64];
        bytes[0] = (byte) 0xFF;
        bytes[1] = (byte) 0xFF;
        Files.write(file, bytes);
        var e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(file, java.lang.foreign.Arena.ofAuto()));
        assertTrue(e.getMessage().contains("bad safetensors header length"), e.getMessage());
    }

    @Test
    void headerThatIsNotJsonIsRefused() throws IOException {
        Path file = tmp.resolve("bad.safetensors");
        byte[] json = "{not json".getBytes(StandardCharsets.UTF_8);
        byte[] bytes = new byte[8 + json.length];
        bytes[0] = (byte) json.length;
        System.arraycopy(json, 0, bytes, 8, json.length);
        Files.write(file, bytes);
        var e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(file, java.lang.foreign.Arena.ofAuto()));
        assertTrue(e.getMessage().contains("header is not valid JSON"), e.getMessage());
    }

    @Test
    void offsetsThatDisagreeWithShapeAreRefused() throws IOException {
        Path file = tmp.resolve("bad.safetensors");
        byte[] json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}".getBytes(StandardCharsets.UTF_8);
        byte[] bytes = new byte[8 + json.length + 16];
        bytes[0] = (byte) json.length;
        System.arraycopy(json, 0, bytes, 8, json.length);
        Files.write(file, bytes);
        var e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(file, java.lang.foreign.Arena.ofAuto()));
        assertTrue(e.getMessage().contains("tensor w") && e.getMessage().contains("needs 16 bytes"), e.getMessage());
    }

    @Test
    void indexNamingATensorItsShardLacksIsRefused() throws IOException {
        Path dir = modelCopy();
        Path index = dir.resolve(Checkpoint.INDEX_FILE);
        String json = Files.readString(index);
        Files.writeString(index, json.replaceFirst("\"weight_map\"\\s*:\\s*\\{", "\"weight_map\": {\"ghost\": \"model-00001-of-00002.safetensors\", "));
        var e = assertThrows(ModelFormatException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains("tensor ghost"), e.getMessage());
    }

    @Test
    void directoryWithoutWeightsIsRefused() {
        var e = assertThrows(ModelFormatException.class, () -> Checkpoint.open(tmp));
        assertTrue(e.getMessage().contains("no model.safetensors"), e.getMessage());
    }

    private static float[] lastLogits(Path dir, int[] prompt) {
        try (LoadedModel m = LoadedModel.open(dir, 2)) {
            FloatMatrix h = m.model().forward(List.of(new SequenceChunk(new SequenceKvCache(m.config()), 0, prompt)), ForwardTrace.NONE);
            return m.model().logits(h, new int[] {prompt.length - 1}).data();
        }
    }

    /** The tiny model's non-weight files plus its tensors in one model.safetensors, each entry passed through {@code edit} (null drops it). */
    private Path copyAsSingleFile(UnaryOperator<Entry> edit) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("single"));
        copyConfigFiles(dir);
        try (Checkpoint source = Checkpoint.open(TinyModel.dir())) {
            List<Entry> entries = new ArrayList<>();
            for (String name : source.names()) {
                Tensor t = source.tensor(name);
                Entry e = edit.apply(new Entry(name, t.dtype(), t.shape()));
                if (e != null) entries.add(e);
            }
            SafetensorsWriter.write(dir.resolve(Checkpoint.SINGLE_FILE), entries, Map.of(), (e, data) -> {
                MemorySegment src = source.tensor(e.name()).data();
                MemorySegment.copy(src, 0, data, 0, Math.min(src.byteSize(), data.byteSize()));
            });
        }
        return dir;
    }

    /** The tiny model with every BF16 tensor stored as {@code dtype} instead. */
    private Path convertedCopy(DType dtype) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(dtype.name()));
        copyConfigFiles(dir);
        try (Checkpoint source = Checkpoint.open(TinyModel.dir())) {
            List<Entry> entries = new ArrayList<>();
            for (String name : source.names()) {
                Tensor t = source.tensor(name);
                entries.add(new Entry(name, t.dtype() == DType.BF16 ? dtype : t.dtype(), t.shape()));
            }
            SafetensorsWriter.write(dir.resolve(Checkpoint.SINGLE_FILE), entries, Map.of(), (e, data) -> {
                Tensor t = source.tensor(e.name());
                for (long i = 0; i < t.elementCount(); i++) {
                    float v = t.getFloat(i);
                    switch (e.dtype()) {
                        case F32 -> data.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * i, v);
                        case F16 -> data.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i, Float.floatToFloat16(v));
                        default -> throw new IllegalStateException(e.dtype().name());
                    }
                }
            });
        }
        return dir;
    }

    private Path modelCopy() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("copy"));
        try (var files = Files.list(TinyModel.dir())) {
            for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        return dir;
    }

    private static void copyConfigFiles(Path dir) throws IOException {
        for (String f : List.of("config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja")) {
            Files.copy(TinyModel.dir().resolve(f), dir.resolve(f));
        }
    }
}
