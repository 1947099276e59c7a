package io.expertmesh.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.safetensors.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufWriterTest {
    @TempDir
    Path tmp;

    @Test
    void metadataOfEveryValueTypeRoundTrips() {
        Map<String, GgufValue> metadata = new LinkedHashMap<>();
        metadata.put("u8", GgufValue.uint8(200));
        metadata.put("i8", GgufValue.int8(-7));
        metadata.put("u16", GgufValue.uint16(60000));
        metadata.put("i16", GgufValue.int16(-30000));
        metadata.put("u32", GgufValue.uint32(4_000_000_000L));
        metadata.put("i32", GgufValue.int32(-2_000_000_000));
        metadata.put("u64", GgufValue.uint64(Long.parseUnsignedLong("18000000000000000000")));
        metadata.put("i64", GgufValue.int64(-9_000_000_000_000_000_000L));
        metadata.put("f32", GgufValue.float32(3.25f));
        metadata.put("f64", GgufValue.float64(Math.PI));
        metadata.put("bool", GgufValue.bool(false));
        metadata.put("string", GgufValue.string("\u6587\u5fc3 ERNIE"));
        metadata.put("a.u8", GgufValue.array(GgufValueType.UINT8, new byte[] {1, (byte) 250}));
        metadata.put("a.i8", GgufValue.array(GgufValueType.INT8, new byte[] {-1}));
        metadata.put("a.u16", GgufValue.array(GgufValueType.UINT16, new short[] {(short) 65000}));
        metadata.put("a.i16", GgufValue.array(GgufValueType.INT16, new short[] {-5, 5}));
        metadata.put("a.u32", GgufValue.array(GgufValueType.UINT32, new int[] {-2}));
        metadata.put("a.i32", GgufValue.int32s(new int[] {1, 2, 3}));
        metadata.put("a.u64", GgufValue.array(GgufValueType.UINT64, new long[] {Long.MIN_VALUE}));
        metadata.put("a.i64", GgufValue.array(GgufValueType.INT64, new long[] {-3}));
        metadata.put("a.f32", GgufValue.float32s(new float[] {0.25f, Float.NaN}));
        metadata.put("a.f64", GgufValue.array(GgufValueType.FLOAT64, new double[] {1e-300}));
        metadata.put("a.bool", GgufValue.array(GgufValueType.BOOL, new boolean[] {true, false}));
        metadata.put("a.string", GgufValue.strings(List.of("<s>", "", "\u2581\u4e2d")));
        metadata.put("a.empty", GgufValue.array(GgufValueType.STRING, new String[0]));
        Path file = tmp.resolve("meta.gguf");
        GgufWriter.write(file, metadata, List.of(), (e, d) -> {});
        try (Arena arena = Arena.ofConfined()) {
            GgufFile read = GgufFile.open(file, arena);
            assertEquals(metadata, read.metadata().values());
            assertEquals(List.copyOf(metadata.keySet()), List.copyOf(read.metadata().keys()), "in the order written");
            assertEquals(4_000_000_000L, read.metadata().value("u32").integer());
            assertArrayEquals(new int[] {1, 250}, read.metadata().integers("a.u8"));
        }
    }

    @Test
    void tensorsRoundTripWithShapesBytesAndAlignment() {
        var f32 = new GgufWriter.Entry("f32", DType.F32, new long[] {3, 5});
        var q8 = new GgufWriter.Entry("q8", DType.Q8_0, new long[] {2, 64});
        var q4k = new GgufWriter.Entry("q4k", DType.Q4_K, new long[] {2, 3, 256});
        Map<String, GgufValue> metadata = Map.of(GgufFile.ALIGNMENT_KEY, GgufValue.uint32(128));
        Path file = tmp.resolve("tensors.gguf");
        GgufWriter.write(file, metadata, List.of(f32, q8, q4k), (e, data) -> {
            for (long i = 0; i < data.byteSize(); i++) data.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + e.name().length()));
        });
        try (Arena arena = Arena.ofConfined()) {
            GgufFile read = GgufFile.open(file, arena);
            assertEquals(128, read.alignment());
            for (var e : List.of(f32, q8, q4k)) {
                Tensor t = read.tensor(e.name());
                assertEquals(e.dtype(), t.dtype());
                assertArrayEquals(e.shape(), t.shape());
                assertEquals(e.bytes(), t.data().byteSize());
                assertEquals(0, (t.data().address() - read.tensor("f32").data().address()) % 128);
                for (long i = 0; i < e.bytes(); i++) {
                    assertEquals((byte) (i * 31 + e.name().length()), t.data().get(ValueLayout.JAVA_BYTE, i), e.name() + " byte " + i);
                }
            }
            assertEquals(2 * 2 * 34, read.tensor("q8").data().byteSize());
            assertEquals(2 * 3 * 144, read.tensor("q4k").data().byteSize());
        }
    }

    @Test
    void theLayoutPutsEachTensorAtTheNextMultipleOfTheAlignment() {
        var a = new GgufWriter.Entry("a", DType.F32, new long[] {3});
        var b = new GgufWriter.Entry("b", DType.BF16, new long[] {7});
        var c = new GgufWriter.Entry("c", DType.F16, new long[] {1});
        GgufWriter.Layout layout = GgufWriter.layout(Map.of(), List.of(a, b, c));
        assertEquals(32, layout.alignment());
        assertArrayEquals(new long[] {0, 32, 64}, layout.tensorOffsets());
        assertEquals(0, layout.dataOffset() % 32);
        assertEquals(layout.dataOffset() + 96, layout.fileSize());
    }

    @Test
    void whatTheReaderWouldRefuseIsRefusedBeforeWriting() {
        Path file = tmp.resolve("never.gguf");
        assertThrows(IllegalArgumentException.class, () -> new GgufWriter.Entry("w", DType.Q4_K, new long[] {2, 128}), "rows of half a block");
        assertThrows(IllegalArgumentException.class, () -> new GgufWriter.Entry("w", DType.F32, new long[] {1, 1, 1, 1, 1}), "five dimensions");
        assertThrows(IllegalArgumentException.class, () -> new GgufWriter.Entry("w", DType.I32, new long[] {4}), "no GGML type here");
        assertThrows(IllegalArgumentException.class, () -> new GgufWriter.Entry("w", DType.F32, new long[] {-1}), "negative dimension");
        var x = new GgufWriter.Entry("x", DType.F32, new long[] {1});
        var e = assertThrows(IllegalArgumentException.class, () -> GgufWriter.write(file, Map.of(), List.of(x, x), (t, d) -> {}));
        assertTrue(e.getMessage().contains("duplicate tensor name x"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> GgufWriter.write(file, Map.of(GgufFile.ALIGNMENT_KEY, GgufValue.uint32(24)), List.of(), (t, d) -> {}));
        assertThrows(IllegalArgumentException.class,
                () -> GgufWriter.write(file, Map.of(GgufFile.ALIGNMENT_KEY, GgufValue.int32(32)), List.of(), (t, d) -> {}));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.array(GgufValueType.ARRAY, new Object[0]));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.array(GgufValueType.INT16, new int[] {1}), "INT16 is held as short[]");
        assertThrows(IllegalArgumentException.class, () -> GgufValue.uint8(256));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.uint32(-1));
        assertTrue(Files.notExists(file));
    }

    @Test
    void aCopyOfAWrittenFileCutShortIsRefusedNamingTheLastTensor() throws IOException {
        var a = new GgufWriter.Entry("blk.0.attn_q.weight", DType.F32, new long[] {4, 8});
        var b = new GgufWriter.Entry("blk.0.attn_k.weight", DType.F32, new long[] {4, 8});
        Path file = tmp.resolve("full.gguf");
        GgufWriter.write(file, Map.of(), List.of(a, b), (e, d) -> {});
        byte[] bytes = Files.readAllBytes(file);
        Path cut = tmp.resolve("cut.gguf");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length - 1));
        var e = assertThrows(ModelFormatException.class, () -> {
            try (Arena arena = Arena.ofConfined()) {
                GgufFile.open(cut, arena);
            }
        });
        assertTrue(e.getMessage().startsWith(cut + ": truncated file: tensor blk.0.attn_k.weight"), e.getMessage());
    }
}
