package io.expertmesh.model.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.TinyModel;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.engine.LocalExpertStore;
import io.expertmesh.model.engine.Routing;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.weights.RoutedExpertWeights;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * An expert host's experts on the (emulated) GPU against the same experts on the CPU: dispatch
 * batches whose rows name experts of this node and, as -1, of others; few rows (one weight pass)
 * and many (tensor cores); and an expert that left is refused.
 */
class GpuRoutedExpertsEmulatedTest {
    @Test
    void gpuExpertStoreGivesTheCpuStoresPartialSums() {
        var gpu = EmulatedGpu.open();
        try (LoadedModel model = LoadedModel.open(TinyModel.dir(), 1); GpuRoutedExperts onGpu = new GpuRoutedExperts(gpu, model.config())) {
            var config = model.config();
            var onCpu = new LocalExpertStore(config, model.model().backend());
            for (int e = 0; e < config.numExperts(); e += 2) {
                var layers = RoutedExpertWeights.loadExpert(model.checkpoint(), config, e);
                onGpu.add(e, layers);
                onCpu.add(e, layers);
            }
            var random = new SplittableRandom(11);
            for (int rows : new int[] {3, 21}) {
                int k = config.expertsPerToken(), d = config.hiddenSize();
                float[] x = new float[rows * d];
                for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
                int[] experts = new int[rows * k];
                float[] weights = new float[rows * k];
                for (int r = 0; r < rows; r++) {
                    int[] ids = random.ints(0, config.numExperts()).distinct().limit(k).toArray();
                    for (int j = 0; j < k; j++) {
                        experts[r * k + j] = ids[j] % 2 == 0 ? ids[j] : -1;
                        weights[r * k + j] = (float) random.nextDouble();
                    }
                }
                Routing routing = new Routing(rows, k, experts, weights);
                FloatMatrix input = new FloatMatrix(rows, d, x);
                float[] expected = onCpu.combine(1, input, routing).data();
                float[] actual = onGpu.combine(1, input, routing).data();
                float worst = 0;
                for (int i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
                assertTrue(worst < 1e-4, rows + " rows: max |gpu - cpu| = " + worst);
            }
            onGpu.remove(2);
            assertArrayEquals(new int[] {0, 4}, Arrays.copyOf(onGpu.experts(), 2));
            int k = config.expertsPerToken();
            int[] namesTwo = new int[k];
            Arrays.fill(namesTwo, -1);
            namesTwo[0] = 2;
            assertThrows(IllegalStateException.class, () -> onGpu.combine(1, FloatMatrix.zeros(1, config.hiddenSize()),
                    new Routing(1, k, namesTwo, new float[k])));
        }
    }
}
