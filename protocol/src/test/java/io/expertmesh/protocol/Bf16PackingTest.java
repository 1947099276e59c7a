package io.expertmesh.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** BF16 values come back bit for bit, in about 1.5 bytes each when their exponents cluster, and never in more than 2 bytes plus one. */
class Bf16PackingTest {
    private static byte[] pack(short[] values) {
        try (Output out = new Output(64, -1)) {
            Bf16Packing.write(out, values);
            return out.toBytes();
        }
    }

    private static short[] bf16(float v) {
        return new short[] {(short) (Float.floatToRawIntBits(v) >>> 16)};
    }

    @Test
    void activationLikeValuesTakeAboutThreeQuartersOfPlainBf16AndComeBackExactly() {
        SplittableRandom random = new SplittableRandom(7);
        short[] values = new short[2560];
        for (int i = 0; i < values.length; i++) values[i] = bf16((float) (random.nextGaussian() * 0.8))[0];
        values[5] = bf16(1e30f)[0];
        values[6] = bf16(Float.NaN)[0];
        values[7] = bf16(-0f)[0];
        byte[] bytes = pack(values);
        assertTrue(bytes.length < 0.8 * 2 * values.length, bytes.length + " bytes for " + values.length + " values");
        assertArrayEquals(values, Bf16Packing.read(new Input(bytes), values.length));
    }

    @Test
    void valuesWithEveryHighByteFallBackToPlainBf16() {
        short[] values = new short[512];
        for (int i = 0; i < values.length; i++) values[i] = (short) (i * 131);
        byte[] bytes = pack(values);
        assertEquals(1 + 2 * values.length, bytes.length);
        assertArrayEquals(values, Bf16Packing.read(new Input(bytes), values.length));
    }

    @Test
    void oddCountsAndEmptyArraysRoundTrip() {
        for (int n : new int[] {0, 1, 3, 17}) {
            short[] values = new short[n];
            for (int i = 0; i < n; i++) values[i] = bf16(i - 1.5f)[0];
            assertArrayEquals(values, Bf16Packing.read(new Input(pack(values)), n), "n = " + n);
        }
    }

    @Test
    void anIndexOutsideTheTableIsRefused() {
        byte[] bytes = {1, 1, 0x3F, 0x12, 0x05};
        var e = assertThrows(IllegalArgumentException.class, () -> Bf16Packing.read(new Input(bytes), 1));
        assertTrue(e.getMessage().contains("outside a table of 1"), e.getMessage());
    }
}
