package io.expertmesh.model.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.engine.HeapSequences;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.engine.LocalExpertStore;
import io.expertmesh.model.engine.Routing;
import io.expertmesh.model.engine.SequenceEngine;
import io.expertmesh.model.gguf.GgufFileType;
import io.expertmesh.model.gguf.QuantizedGguf;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.sampling.Sampler;
import io.expertmesh.model.weights.RoutedExpertWeights;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The tiny model written as a quantized GGUF file (as {@code mesh quantize} does) on the emulated
 * GPU, its blocks uploaded as they are, against the CPU's quantized forward over the same file. The
 * Q8_0 file is Q8_0 throughout; the tiny model's Q4_K_M file is Q4_K where a row holds whole
 * super-blocks (layer 0's ffn_down) and Q8_0 elsewhere; a third file has that matrix in Q6_K.
 */
class GpuQuantizedModelEmulatedTest {
    private static final float LOGIT_TOLERANCE = 1e-3f;
    private static final int BLOCKS_PER_SEQUENCE = 4;

    @TempDir
    Path tmp;

    private static GpuModel onGpu(LoadedModel cpu) {
        Gpu gpu = EmulatedGpu.open();
        return GpuModel.load(gpu, cpu.config(), new CheckpointWeights(gpu, cpu.weights(), cpu.experts(), layer -> {}), 16);
    }

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_K_M"})
    void gpuLogitsOfAQuantizedFileAreTheCpuQuantizedLogitsWithin1e3AndGiveTheSameGreedyTokens(GgufFileType type) {
        DType typeUnderTest = type == GgufFileType.Q8_0 ? DType.Q8_0 : DType.Q4_K;
        assertGpuGivesTheCpuLogits(QuantizedGguf.writeTiny(tmp, type), typeUnderTest, type.toString());
    }

    /** Layer 0's ffn_down, whose rows are one 256-weight super-block, as Q6_K: the type a Q4_K_M file's output and some ffn_down have. */
    @Test
    void gpuLogitsWithAQ6KMatrixAreTheCpuLogitsWithin1e3AndGiveTheSameGreedyTokens() {
        Path file = QuantizedGguf.writeTiny(tmp, GgufFileType.Q4_K_M, Map.of("blk.0.ffn_down.weight", DType.Q6_K));
        assertGpuGivesTheCpuLogits(file, DType.Q6_K, "Q4_K_M with a Q6_K ffn_down");
    }

    private void assertGpuGivesTheCpuLogits(Path file, DType typeUnderTest, String what) {
        try (LoadedModel cpu = LoadedModel.open(file, 1); GpuModel model = onGpu(cpu)) {
            assertEquals(typeUnderTest, cpu.weights().layers().get(0).denseMlp().down().weight().dtype(), "the type under test is in the file");
            var onGpu = new HeapSequences(model, BLOCKS_PER_SEQUENCE);
            var onCpu = new HeapSequences(cpu.model());
            // A prefill of more than 8 rows and one of fewer, then decode steps from each.
            for (int[] prompt : new int[][] {{7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}, {3, 4053, 1449}}) {
                SequenceEngine.Sequence gpuSequence = onGpu.newSequence(), cpuSequence = onCpu.newSequence();
                int[] next = prompt;
                for (int step = 0; step < 4; step++) {
                    float[] expected = cpuSequence.append(next), actual = gpuSequence.append(next);
                    float worst = 0;
                    for (int i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
                    assertTrue(worst <= LOGIT_TOLERANCE, what + " step " + step + ": max |gpu - cpu| = " + worst);
                    assertEquals(Sampler.argmax(expected), Sampler.argmax(actual), what + " greedy token, step " + step);
                    next = new int[] {Sampler.argmax(expected)};
                }
            }
        }
    }

    /** An expert host's GPU with a file's Q8_0 experts gives the CPU store's sums, so a cluster may mix it with CPU nodes. */
    @Test
    void gpuExpertStoreWithQuantizedExpertsGivesTheCpuStoresPartialSums() {
        try (LoadedModel model = LoadedModel.open(QuantizedGguf.writeTiny(tmp, GgufFileType.Q8_0), 1);
             GpuRoutedExperts onGpu = new GpuRoutedExperts(EmulatedGpu.open(), model.config())) {
            var config = model.config();
            var onCpu = new LocalExpertStore(config, model.model().backend());
            for (int e = 0; e < config.numExperts(); e += 2) {
                var layers = RoutedExpertWeights.loadExpert(model.checkpoint(), config, e);
                assertEquals(DType.Q8_0, layers[1].down().weight().dtype());
                onGpu.add(e, layers);
                onCpu.add(e, layers);
            }
            var random = new SplittableRandom(11);
            int k = config.expertsPerToken(), d = config.hiddenSize();
            for (int rows : new int[] {3, 21}) {
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
                float[] expected = onCpu.combine(1, new FloatMatrix(rows, d, x), routing).data();
                float[] actual = onGpu.combine(1, new FloatMatrix(rows, d, x), routing).data();
                float worst = 0;
                for (int i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
                assertTrue(worst < 1e-4, rows + " rows: max |gpu - cpu| = " + worst);
            }
        }
    }

    @Test
    void aTypeWithoutGpuKernelsIsRefusedNamingTheTensorAndItsType() {
        try (LoadedModel cpu = LoadedModel.open(QuantizedGguf.writeTiny(tmp, GgufFileType.Q4_0), 1); Gpu gpu = EmulatedGpu.open()) {
            var e = assertThrows(ModelFormatException.class,
                    () -> GpuWeights.upload(gpu, cpu.config(), new CheckpointWeights(gpu, cpu.weights(), cpu.experts(), layer -> {})));
            assertEquals("model.layers.0.self_attn.q_proj.weight: the CUDA path reads BF16, Q8_0, Q4_K and Q6_K weights, not Q4_0", e.getMessage());
        }
    }
}
