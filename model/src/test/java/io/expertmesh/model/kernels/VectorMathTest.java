package io.expertmesh.model.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.weights.Linear;
import io.expertmesh.model.weights.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class VectorMathTest {
    private static WeightMatrix randomBf16(int rows, int cols, long seed) {
        MemorySegment seg = Arena.ofAuto().allocate(2L * rows * cols);
        var r = new SplittableRandom(seed);
        for (long i = 0; i < (long) rows * cols; i++) {
            seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i, (short) (Float.floatToRawIntBits((float) r.nextGaussian()) >>> 16));
        }
        return new WeightMatrix("w", DType.BF16, rows, cols, seg);
    }

    private static FloatMatrix randomRows(int rows, int cols, long seed) {
        var r = new SplittableRandom(seed);
        FloatMatrix m = FloatMatrix.zeros(rows, cols);
        for (int i = 0; i < m.data().length; i++) m.data()[i] = (float) r.nextGaussian();
        return m;
    }

    @Test
    void aRowsResultDoesNotDependOnTheBatchItIsIn() {
        try (var backend = new CpuBackend(2)) {
            // 45 and 47 rows: passes of six activation rows (four where vectors have fewer than 16
            // lanes), a pass of four, and single rows; 37 and 3 weight rows leave rows outside the quads.
            for (int[] shape : new int[][] {{37, 2576, 45}, {64, 160, 47}, {3, 33, 47}}) {
                WeightMatrix w = randomBf16(shape[0], shape[1], 1);
                int n = shape[2];
                FloatMatrix batch = randomRows(n, shape[1], 2);
                FloatMatrix together = FloatMatrix.zeros(n, shape[0]);
                backend.matmul(List.of(new MatMul(batch, new Linear(w, null), together)));
                for (int t : new int[] {0, 17, n - 5, n - 2, n - 1}) {
                    FloatMatrix alone = FloatMatrix.zeros(1, shape[0]);
                    FloatMatrix one = new FloatMatrix(1, shape[1], batch.row(t));
                    backend.matmul(List.of(new MatMul(one, new Linear(w, null), alone)));
                    assertArrayEquals(together.row(t), alone.row(0), "row " + t + " of shape " + shape[0] + "x" + shape[1]);
                }
            }
        }
    }

    @Test
    void foldAddsTheLanesInTheCanonicalTreeOrder() {
        var r = new SplittableRandom(11);
        for (int trial = 0; trial < 1000; trial++) {
            float[] lanes = new float[VectorMath.LANES + 3];
            for (int i = 0; i < lanes.length; i++) lanes[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(-6, 7)));
            float[] tree = lanes.clone();
            for (int half = VectorMath.LANES / 2; half >= 1; half /= 2) {
                for (int i = 0; i < half; i++) tree[3 + i] += tree[3 + i + half];
            }
            assertEquals(Float.floatToRawIntBits(tree[3]), Float.floatToRawIntBits(VectorMath.fold(lanes, 3)), "trial " + trial);
        }
    }

    @Test
    void sumAddsTheLanesInFoldsOrderNotLaneAfterLane() {
        var r = new SplittableRandom(12);
        int sequentialDiffers = 0;
        for (int trial = 0; trial < 1000; trial++) {
            float[] lanes = new float[VectorMath.LANES];
            for (int i = 0; i < lanes.length; i++) lanes[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(-6, 7)));
            float sequential = 0;
            for (float v : lanes) sequential += v;
            float sum = VectorMath.sum(jdk.incubator.vector.FloatVector.fromArray(VectorMath.F, lanes, 0));
            float fold = VectorMath.fold(lanes.clone(), 0);
            assertEquals(Float.floatToRawIntBits(fold), Float.floatToRawIntBits(sum), "trial " + trial);
            if (Float.floatToRawIntBits(sequential) != Float.floatToRawIntBits(fold)) sequentialDiffers++;
        }
        // The values are spread over 12 decades, so the two orders part often: the check above can tell them apart.
        assertTrue(VectorMath.LANES <= 2 || sequentialDiffers > 100, sequentialDiffers + " of 1000 trials told the orders apart");
    }

    @Test
    void matmulAgreesWithADoublePrecisionProduct() {
        WeightMatrix w = randomBf16(70, 300, 3);
        FloatMatrix x = randomRows(9, 300, 4);
        FloatMatrix out = FloatMatrix.zeros(9, 70);
        try (var backend = new CpuBackend(2)) {
            backend.matmul(List.of(new MatMul(x, new Linear(w, null), out)));
        }
        float[] row = new float[300];
        for (int o = 0; o < 70; o++) {
            w.readRow(o, row, 0);
            for (int t = 0; t < 9; t++) {
                double expected = 0;
                for (int k = 0; k < 300; k++) expected += (double) row[k] * x.get(t, k);
                assertEquals(expected, out.get(t, o), 1e-4 * Math.max(1, Math.abs(expected)));
            }
        }
    }

    @Test
    void expIsAccurateAndTheSameInVectorAndScalarForm() {
        List<Float> xs = new ArrayList<>();
        for (float x = -100f; x <= 88f; x += 0.0137f) xs.add(x);
        float[] v = new float[xs.size()];
        for (int i = 0; i < v.length; i++) v[i] = xs.get(i);
        float[] scalar = v.clone();
        VectorMath.exp(v, 0, v.length);
        for (int i = 0; i < scalar.length; i++) {
            float x = scalar[i];
            assertEquals(Float.floatToIntBits(VectorMath.exp(x)), Float.floatToIntBits(v[i]), "x = " + x);
            double exact = Math.exp(x);
            if (x >= -87.3f) assertTrue(Math.abs(v[i] - exact) <= 3 * Math.ulp((float) exact), "x = " + x + ": " + v[i] + " vs " + exact);
            else assertEquals(0f, v[i]);
        }
    }
}
