package io.expertmesh.model.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.TinyModel;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.sampling.Sampler;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The GPU path's kernels (ernie.cu) and host code, run by the CPU emulator of the CUDA execution
 * model against the CPU path and the transformers reference on the bundled tiny model. A real GPU
 * is tested by {@link GpuModelTest}; this catches wrong indexing, arguments and arithmetic before one
 * is at hand.
 */
class GpuModelEmulatedTest {
    /** The CPU model's own checkpoint weights uploaded to {@code gpu}, with {@code kvBlocks} KV blocks. */
    private static GpuModel onGpu(Gpu gpu, LoadedModel cpu, int kvBlocks) {
        return GpuModel.load(gpu, cpu.config(), new CheckpointWeights(gpu, cpu.weights(), cpu.experts(), layer -> {}), kvBlocks);
    }

    @Test
    void emulatedKernelsReproduceTheReferenceAndTheCpuPathOnEveryCase() {
        var gpu = EmulatedGpu.open();
        try (LoadedModel cpu = LoadedModel.open(TinyModel.dir(), 2);
             GpuModel model = onGpu(gpu, cpu, 4096)) {
            for (GpuCorrectness.CaseResult c : GpuCorrectness.run(cpu, model, TinyModel.dir())) {
                System.out.printf("emulated GPU, case %s: ids equal %b, max|gpu-ref| %.2e, max|gpu-cpu| %.2e%n", c.name(), c.idsMatch(),
                        c.maxDiffVsReference(), c.maxDiffVsCpu());
                assertArrayEquals(c.expectedIds(), c.gpuIds(), c.name() + ": greedy ids");
                assertTrue(c.maxDiffVsReference() <= GpuCorrectness.TOLERANCE, c.name() + ": |gpu - reference| = " + c.maxDiffVsReference());
                assertTrue(c.maxDiffVsCpu() <= GpuCorrectness.TOLERANCE, c.name() + ": |gpu - cpu| = " + c.maxDiffVsCpu());
            }
        }
    }

    @Test
    void sequencesBatchedInOneStepGetTheirSoloLogitsAndGreedyOnTheDeviceIsTheHostArgmax() {
        var gpu = EmulatedGpu.open();
        int[][] prompts = {{3, 4053, 1449, 12, 99}, {7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}, {42}};
        try (LoadedModel cpu = LoadedModel.open(TinyModel.dir(), 1);
             GpuModel model = onGpu(gpu, cpu, 4096)) {
            List<GpuModel.DeviceSequence> batch = new ArrayList<>();
            List<GpuModel.DeviceSequence> solo = new ArrayList<>();
            int[] next = new int[prompts.length];
            for (int i = 0; i < prompts.length; i++) {
                batch.add(model.newSequence());
                solo.add(model.newSequence());
                next[i] = model.forwardGreedy(List.of(batch.get(i)), List.of(prompts[i]), new int[] {prompts[i].length - 1})[0];
                assertEquals(next[i], Sampler.argmax(solo.get(i).append(prompts[i])), "greedy on the device, prompt " + i);
            }
            for (int step = 0; step < 3; step++) {
                List<int[]> tokens = new ArrayList<>();
                for (int t : next) tokens.add(new int[] {t});
                FloatMatrix together = model.forward(batch, tokens, new int[] {0, 1, 2});
                for (int i = 0; i < prompts.length; i++) {
                    assertArrayEquals(solo.get(i).append(tokens.get(i)), together.row(i), "step " + step + ", sequence " + i);
                    next[i] = Sampler.argmax(together.row(i));
                }
            }
            batch.forEach(GpuModel.DeviceSequence::close);
            solo.forEach(GpuModel.DeviceSequence::close);
        }
    }

    @Test
    void decodeStepsReplayedFromACapturedGraphEqualKernelByKernelSteps() {
        var gpu = EmulatedGpu.open();
        try (LoadedModel cpu = LoadedModel.open(TinyModel.dir(), 1);
             GpuModel model = onGpu(gpu, cpu, 1024);
             GpuModel.DeviceSequence replayed = model.newSequence();
             GpuModel.DeviceSequence launched = model.newSequence()) {
            int[] prompt = {3, 4053, 1449, 12};
            float[] a = replayed.append(prompt);
            model.useGraphs(false);
            float[] b = launched.append(prompt);
            for (int step = 0; step < 4; step++) {
                assertArrayEquals(b, a, "step " + step);
                int next = Sampler.argmax(a);
                model.useGraphs(true);
                a = replayed.append(new int[] {next});
                model.useGraphs(false);
                b = launched.append(new int[] {next});
            }
        }
    }

    @Test
    void randomWeightsOfAConfigsShapeRunTheBenchmarkLoop() {
        var gpu = EmulatedGpu.open();
        ErnieConfig config = ErnieConfig.load(TinyModel.dir());
        try (GpuModel model = GpuModel.load(gpu, config, new RandomWeights(gpu, 7, layer -> {}), 1024)) {
            int[] prompt = {5, 6, 7, 8};
            try (GpuModel.DeviceSequence a = model.newSequence(); GpuModel.DeviceSequence b = model.newSequence()) {
                int greedy = model.forwardGreedy(List.of(a), List.of(prompt), new int[] {3})[0];
                float[] logits = model.forward(List.of(b), List.of(prompt), new int[] {3}).row(0);
                assertEquals(Sampler.argmax(logits), greedy);
                for (float v : logits) assertTrue(Float.isFinite(v), "finite logits from random weights");
            }
        }
    }
}
