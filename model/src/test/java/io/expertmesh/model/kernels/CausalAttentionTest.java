package io.expertmesh.model.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link KernelBackend#attention} with the Java and the C kernels. */
class CausalAttentionTest {
    private static final Map<CpuKernels, CpuBackend> backends = new EnumMap<>(CpuKernels.class);

    @BeforeAll
    static void start() {
        for (CpuKernels k : NativeKernelsTest.kernelsOfThisMachine()) backends.put(k, new CpuBackend(1, k));
    }

    @AfterAll
    static void stop() {
        backends.values().forEach(CpuBackend::close);
    }

    static Iterable<CpuKernels> kernels() {
        return NativeKernelsTest.kernelsOfThisMachine();
    }

    /** Rows of {@code heads} query heads (and as many unused ones beside them), keys and values, Gaussian with the given spread of the queries. */
    private record Case(int rows, int heads, int dims, int firstPosition, float[] q, float[] keys, float[] values, int stride) {
        static Case random(int rows, int heads, int dims, int firstPosition, double querySpread, long seed) {
            var random = new SplittableRandom(seed);
            int stride = 2 * heads * dims + 3;
            int positions = firstPosition + rows;
            float[] q = new float[rows * stride], keys = new float[positions * dims], values = new float[positions * dims];
            for (int i = 0; i < q.length; i++) q[i] = (float) (random.nextGaussian() * querySpread);
            for (int i = 0; i < keys.length; i++) keys[i] = (float) random.nextGaussian();
            for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
            return new Case(rows, heads, dims, firstPosition, q, keys, values, stride);
        }

        /** Runs on {@code backend} with query heads at column {@code heads·dims} of each row; returns the output rows. */
        float[] run(KernelBackend backend) {
            float[] out = new float[rows * stride];
            float scale = (float) Math.pow(dims, -0.5);
            backend.attention(new CausalAttention(q, heads * dims, stride, rows, heads, dims, firstPosition, keys, values, scale, out,
                    heads * dims, stride));
            return out;
        }
    }

    private static Case[] cases() {
        return new Case[] {
                Case.random(1, 1, 128, 0, 1, 1), Case.random(16, 5, 128, 0, 1, 2), Case.random(3, 5, 128, 37, 1, 3),
                Case.random(9, 2, 40, 11, 1, 4), Case.random(5, 3, 16, 2, 1, 5), Case.random(4, 2, 136, 70, 1, 6),
                Case.random(7, 2, 128, 20, 40, 7)};
    }

    /**
     * Every output equals softmax(q·kᵀ·scale)·v computed in double within 1e-5 (relative to the
     * values' magnitude), including queries so large that most probabilities underflow to zero; the
     * columns outside the heads stay untouched.
     */
    @ParameterizedTest
    @MethodSource("kernels")
    void outputIsTheSoftmaxWeightedSumOfTheVisibleValues(CpuKernels kernels) {
        for (Case c : cases()) {
            float[] out = c.run(backends.get(kernels));
            for (int i = 0; i < c.rows(); i++) {
                int n = c.firstPosition() + i + 1;
                for (int g = 0; g < c.heads(); g++) {
                    int qOff = i * c.stride() + (c.heads() + g) * c.dims();
                    double[] p = new double[n];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        for (int d = 0; d < c.dims(); d++) p[j] += (double) c.q()[qOff + d] * c.keys()[j * c.dims() + d];
                        p[j] /= Math.sqrt(c.dims());
                        max = Math.max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) sum += p[j] = Math.exp(p[j] - max);
                    for (int d = 0; d < c.dims(); d++) {
                        double expected = 0;
                        for (int j = 0; j < n; j++) expected += p[j] / sum * c.values()[j * c.dims() + d];
                        float got = out[qOff + d];
                        String where = kernels + ": " + c.rows() + " rows x " + c.heads() + " heads of " + c.dims() + " from " + c.firstPosition()
                                + ", row " + i + " head " + g + " dim " + d;
                        assertTrue(Math.abs(got - expected) <= 1e-5 * (1 + Math.abs(expected)), where + ": " + got + " vs " + expected);
                    }
                }
                for (int col = 0; col < c.heads() * c.dims(); col++) assertEquals(0f, out[i * c.stride() + col], "column " + col + " of row " + i);
            }
        }
    }

    /** The C kernel gives the Java kernel's bits: the same operations in the same order. */
    @Test
    void cKernelEqualsTheJavaKernelBitForBit() {
        assumeTrue(NativeKernelsTest.nativeKernelsExpected(), "this CPU cannot run the AVX-512 kernels");
        assumeTrue(VectorMath.LANES == 16, "the C kernel is the Java one for 16 lanes; this JVM's vectors have " + VectorMath.LANES);
        for (Case c : cases()) {
            float[] java = c.run(backends.get(CpuKernels.JAVA)), native_ = c.run(backends.get(CpuKernels.NATIVE));
            for (int i = 0; i < java.length; i++) {
                int at = i;
                assertEquals(Float.floatToRawIntBits(java[i]), Float.floatToRawIntBits(native_[i]),
                        () -> c.rows() + " rows x " + c.heads() + " heads of " + c.dims() + ": float " + at + ": " + java[at] + " vs " + native_[at]);
            }
        }
    }

    @Test
    void attentionThatDoesNotFitItsArraysIsRefused() {
        float[] q = new float[256], kv = new float[128 * 4];
        assertThrows(IllegalArgumentException.class, () -> new CausalAttention(q, 0, 128, 2, 1, 128, 3, kv, kv, 1f, q, 0, 128));
        assertThrows(IllegalArgumentException.class, () -> new CausalAttention(q, 64, 128, 2, 1, 128, 0, kv, kv, 1f, q, 0, 128));
        assertThrows(IllegalArgumentException.class, () -> new CausalAttention(q, 0, 64, 2, 1, 128, 0, kv, kv, 1f, q, 0, 128));
    }
}
