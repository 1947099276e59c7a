package io.expertmesh.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.safetensors.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Reads every-type.gguf, written by gguf-py's GGUFWriter (make_fixtures.py beside it). */
class GgufFileTest {
    private static Arena arena;
    private static GgufFile file;

    @BeforeAll
    static void open() {
        arena = Arena.ofShared();
        file = GgufFile.open(Fixtures.resource("every-type.gguf"), arena);
    }

    @AfterAll
    static void close() {
        arena.close();
    }

    @Test
    void scalarsOfEveryValueTypeReadAsGgufPyWroteThem() {
        GgufMetadata m = file.metadata();
        assertEquals(GgufValue.uint8(255), m.value("test.uint8"));
        assertEquals(GgufValue.int8(-128), m.value("test.int8"));
        assertEquals(GgufValue.uint16(65535), m.value("test.uint16"));
        assertEquals(GgufValue.int16(-32768), m.value("test.int16"));
        assertEquals(GgufValue.uint32(4294967295L), m.value("test.uint32"));
        assertEquals(GgufValue.int32(Integer.MIN_VALUE), m.value("test.int32"));
        assertEquals(GgufValue.uint64(-1L), m.value("test.uint64"));
        assertEquals("18446744073709551615", m.value("test.uint64").toString());
        assertEquals(GgufValue.int64(Long.MIN_VALUE), m.value("test.int64"));
        assertEquals(GgufValue.float32(1.5f), m.value("test.float32"));
        assertEquals(GgufValue.float64(0.1), m.value("test.float64"));
        assertEquals(GgufValue.bool(true), m.value("test.bool"));
        assertEquals("h\u00e9llo \u2713", m.string("test.string"));
        assertEquals("", m.string("test.empty_string"));
        assertEquals("every-type", m.string(GgufFile.ARCHITECTURE_KEY));
    }

    @Test
    void arraysOfEveryElementTypeReadAsGgufPyWroteThem() {
        GgufMetadata m = file.metadata();
        assertEquals(GgufValue.array(GgufValueType.UINT8, new byte[] {0, (byte) 128, (byte) 255}), m.value("test.array.uint8"));
        assertEquals(GgufValue.array(GgufValueType.INT8, new byte[] {-128, 0, 127}), m.value("test.array.int8"));
        assertEquals(GgufValue.array(GgufValueType.UINT16, new short[] {0, (short) 65535}), m.value("test.array.uint16"));
        assertEquals(GgufValue.array(GgufValueType.INT16, new short[] {Short.MIN_VALUE, Short.MAX_VALUE}), m.value("test.array.int16"));
        assertEquals(GgufValue.array(GgufValueType.UINT32, new int[] {0, -1}), m.value("test.array.uint32"));
        assertEquals(GgufValue.array(GgufValueType.INT32, new int[] {Integer.MIN_VALUE, Integer.MAX_VALUE}), m.value("test.array.int32"));
        assertEquals(GgufValue.array(GgufValueType.UINT64, new long[] {0, -1}), m.value("test.array.uint64"));
        assertEquals(GgufValue.array(GgufValueType.INT64, new long[] {Long.MIN_VALUE, Long.MAX_VALUE}), m.value("test.array.int64"));
        assertEquals(GgufValue.array(GgufValueType.FLOAT32, new float[] {0.5f, -2.25f}), m.value("test.array.float32"));
        assertEquals(GgufValue.array(GgufValueType.FLOAT64, new double[] {0.1, -1e300}), m.value("test.array.float64"));
        assertEquals(GgufValue.array(GgufValueType.BOOL, new boolean[] {true, false, true}), m.value("test.array.bool"));
        assertArrayEquals(new String[] {"a", "", "\u00fc"}, m.strings("test.array.string"));
        assertArrayEquals(new int[] {0, 128, 255}, m.integers("test.array.uint8"));
        assertArrayEquals(new float[] {0.5f, -2.25f}, m.floats("test.array.float32"));
        assertEquals(List.of(true, false, true), m.list("test.array.bool"));
    }

    @Test
    void typedGettersNameTheFileAndKeyWhenMissingOrOfAnotherType() {
        GgufMetadata m = file.metadata();
        var missing = assertThrows(ModelFormatException.class, () -> m.integer("test.absent"));
        assertTrue(missing.getMessage().contains("every-type.gguf") && missing.getMessage().contains("test.absent is missing"), missing.getMessage());
        var wrong = assertThrows(ModelFormatException.class, () -> m.string("test.uint32"));
        assertTrue(wrong.getMessage().contains("every-type.gguf") && wrong.getMessage().contains("test.uint32 should be STRING"), wrong.getMessage());
        var tooBig = assertThrows(ModelFormatException.class, () -> m.integer("test.uint32"));
        assertTrue(tooBig.getMessage().contains("test.uint32 should be an integer that fits in 32 bits"), tooBig.getMessage());
        assertThrows(ModelFormatException.class, () -> m.floats("test.array.int32"));
        assertEquals(1.5f, m.number("test.float32"));
        assertEquals(65535, m.integer("test.uint16"));
    }

    @Test
    void shapesReadInPyTorchOrderWithGgmlsInnermostDimensionLast() {
        assertArrayEquals(new long[] {2, 3}, file.tensor("f32").shape());
        assertArrayEquals(new long[] {4}, file.tensor("f16").shape());
        assertArrayEquals(new long[] {2, 3, 4}, file.tensor("cube").shape());
        assertArrayEquals(new long[] {2, 1, 3, 2}, file.tensor("hyper").shape());
        Tensor cube = file.tensor("cube");
        assertEquals(1f * (1 * 4 + 2), cube.getFloat(1 * 4 + 2), "row-major: element [0][1][2]");
        assertArrayEquals(new float[] {0, 0.5f, 1, 1.5f, 2, 2.5f}, file.tensor("f32").toFloatArray());
        assertArrayEquals(new float[] {1, -2, 0.5f, 65504}, file.tensor("f16").toFloatArray());
    }

    @Test
    void quantizedTensorsExposeTheirExactByteSpans() {
        assertPatterned("q8_0", DType.Q8_0, new long[] {3, 64}, 3 * 2 * 34, 7, 1);
        assertPatterned("q4_0", DType.Q4_0, new long[] {2, 32}, 2 * 18, 5, 2);
        assertPatterned("q4_k", DType.Q4_K, new long[] {2, 256}, 2 * 144, 11, 3);
        assertPatterned("q6_k", DType.Q6_K, new long[] {1, 256}, 210, 13, 4);
        assertPatterned("bf16", DType.BF16, new long[] {2, 3}, 2 * 3 * 2, 17, 5);
    }

    @Test
    void tensorDataStartsAtTheCustomAlignment() {
        assertEquals(64, file.alignment());
        assertEquals(0, file.dataOffset() % 64);
        for (Tensor t : file.tensors().values()) {
            long offset = t.data().address() - file.tensor("f32").data().address();
            assertEquals(0, offset % 64, t.name() + " starts at a multiple of 64 bytes into the data section");
        }
        assertEquals(3, file.version());
    }

    private static void assertPatterned(String name, DType dtype, long[] shape, long bytes, int mul, int add) {
        Tensor t = file.tensor(name);
        assertEquals(dtype, t.dtype(), name);
        assertArrayEquals(shape, t.shape(), name);
        assertEquals(bytes, t.data().byteSize(), name);
        for (int i = 0; i < bytes; i++) {
            assertEquals((byte) (i * mul + add), t.data().get(ValueLayout.JAVA_BYTE, i), name + " byte " + i);
        }
    }
}
