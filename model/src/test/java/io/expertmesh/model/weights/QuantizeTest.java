package io.expertmesh.model.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.safetensors.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class QuantizeTest {
    /** gguf-py implements Q8_0 and Q4_0 quantization bit-exactly after llama.cpp's reference; the fixture holds its output. */
    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0"})
    void quantizeEqualsGgufPyByteForByte(DType type) {
        float[] input = QuantFixture.floats(type, "input");
        byte[] expected = QuantFixture.bytes(type, "quantized");
        MemorySegment actual = Arena.ofAuto().allocate(type.byteSize(input.length));
        Quantize.row(type, input, 0, input.length, actual, 0);
        for (int i = 0; i < expected.length; i++) {
            int at = i;
            assertEquals(expected[i], actual.get(ValueLayout.JAVA_BYTE, i),
                    () -> type + " byte " + at + " (block " + at / type.blockBytes() + ", byte " + at % type.blockBytes() + ")");
        }
    }

    /**
     * gguf-py has no Q4_K or Q6_K quantizer to compare with, so every type is held to the error of its
     * grid: per 256 Gaussian weights (magnitudes from 1e-3 to 10) the RMS error relative to the
     * weights' RMS stays below what its bits per weight allow. A mispacked scale, min or nibble
     * breaks that by far.
     */
    @ParameterizedTest
    @CsvSource({"Q4_K, 0.09", "Q6_K, 0.027", "Q8_0, 0.007", "Q4_0, 0.11"})
    void roundTripErrorStaysWithinTheGridOfEachType(DType type, double maxRelativeRms) {
        var random = new SplittableRandom(5);
        int n = 64 * 256;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (random.nextGaussian() * Math.pow(10, (i / 256) % 5 - 3));
        MemorySegment q = Arena.ofAuto().allocate(type.byteSize(n));
        Quantize.row(type, x, 0, n, q, 0);
        float[] back = new float[n];
        QuantizedBlocks.dequantize(type, q, 0, n, back, 0);
        for (int b = 0; b < n; b += 256) {
            double err = 0, norm = 0;
            for (int i = b; i < b + 256; i++) {
                err += (back[i] - x[i]) * (double) (back[i] - x[i]);
                norm += x[i] * (double) x[i];
            }
            double relative = Math.sqrt(err / norm);
            int block = b / 256;
            assertTrue(relative <= maxRelativeRms, () -> type + " block " + block + ": relative RMS error " + relative);
        }
    }
}
