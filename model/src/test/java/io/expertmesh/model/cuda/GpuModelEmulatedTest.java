package io.expertmesh.model.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.TinyModel;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.engine.HeapSequences;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.engine.MoeFeedForward;
import io.expertmesh.model.engine.SequenceChunk;
import io.expertmesh.model.engine.SequenceEngine;
import io.expertmesh.model.engine.SequenceKvCache;
import io.expertmesh.model.engine.StepOutput;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.sampling.Sampler;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The GPU step's kernels (ernie.cu) and host code, run by the CPU emulator of the CUDA execution
 * model against the CPU step on the bundled tiny model. The reference cases run in the tools'
 * {@code GpuCorrectnessEmulatedTest}; a real GPU is tested by {@code GpuModelTest}.
 */
class GpuModelEmulatedTest {
    /** Blocks per test sequence: 64 positions, more than any sequence here. */
    private static final int BLOCKS_PER_SEQUENCE = 4;

    /** The CPU model's own checkpoint weights uploaded to {@code gpu}, with {@code kvBlocks} KV blocks and {@code moe} for the experts. */
    private static GpuModel onGpu(Gpu gpu, LoadedModel cpu, int kvBlocks, MoeFeedForward moe) {
        GpuWeights weights = GpuWeights.upload(gpu, cpu.config(), new CheckpointWeights(gpu, cpu.weights(), cpu.experts(), layer -> {}));
        return new GpuModel(weights, GpuKvBlocks.allocate(gpu, cpu.config(), kvBlocks), moe);
    }

    @Test
    void sequencesBatchedInOneStepGetTheirSoloLogitsAndTheCpuStepsGreedyTokens() {
        var gpu = EmulatedGpu.open();
        int[][] prompts = {{3, 4053, 1449, 12, 99}, {7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}, {42}};
        try (LoadedModel cpu = LoadedModel.open(TinyModel.dir(), 1);
             GpuModel model = onGpu(gpu, cpu, 64, null)) {
            var onGpu = new HeapSequences(model, BLOCKS_PER_SEQUENCE);
            var onCpu = new HeapSequences(cpu.model());
            List<SequenceKvCache> batch = new ArrayList<>();
            List<SequenceEngine.Sequence> solo = new ArrayList<>();
            List<SequenceEngine.Sequence> reference = new ArrayList<>();
            int[] next = new int[prompts.length];
            for (int i = 0; i < prompts.length; i++) {
                batch.add(onGpu.newCache());
                solo.add(onGpu.newSequence());
                reference.add(onCpu.newSequence());
                float[] logits = model.forward(List.of(new SequenceChunk(batch.get(i), 0, prompts[i])), new int[] {prompts[i].length - 1})
                        .logits().row(0);
                assertArrayEquals(solo.get(i).append(prompts[i]), logits, "prompt " + i);
                next[i] = Sampler.argmax(logits);
                assertEquals(Sampler.argmax(reference.get(i).append(prompts[i])), next[i], "greedy token after prompt " + i);
            }
            for (int step = 0; step < 3; step++) {
                List<SequenceChunk> chunks = new ArrayList<>();
                for (int i = 0; i < prompts.length; i++) chunks.add(new SequenceChunk(batch.get(i), prompts[i].length + step, new int[] {next[i]}));
                FloatMatrix together = model.forward(chunks, new int[] {0, 1, 2}).logits();
                for (int i = 0; i < prompts.length; i++) {
                    int[] token = {next[i]};
                    assertArrayEquals(solo.get(i).append(token), together.row(i), "step " + step + ", sequence " + i);
                    next[i] = Sampler.argmax(together.row(i));
                    assertEquals(Sampler.argmax(reference.get(i).append(token)), next[i], "greedy token, step " + step + ", sequence " + i);
                }
            }
        }
    }

    @Test
    void expertsThroughTheFeedForwardHookGiveTheOnDeviceExpertsLogitsAndRouting() {
        var gpu = EmulatedGpu.open();
        int[] prompt = {3, 4053, 1449, 12, 99, 7};
        try (LoadedModel cpu = LoadedModel.open(TinyModel.dir(), 1)) {
            int[] hookCalls = new int[1];
            // As an attention node whose experts live elsewhere: the hook gets every MoE layer's rows.
            MoeFeedForward remote = (layer, x, routing) -> {
                hookCalls[0]++;
                return cpu.localMoe().apply(layer, x, routing);
            };
            try (GpuModel local = onGpu(gpu, cpu, 16, null); GpuModel dispatching = onGpu(EmulatedGpu.open(), cpu, 16, remote)) {
                StepOutput a = local.forward(List.of(new SequenceChunk(new SequenceKvCache(cpu.config()), 0, prompt)), new int[] {5});
                StepOutput b = dispatching.forward(List.of(new SequenceChunk(new SequenceKvCache(cpu.config()), 0, prompt)), new int[] {5});
                assertEquals(cpu.config().numMoeLayers(), hookCalls[0], "the hook ran every MoE layer");
                assertArrayEquals(a.chosenExperts(), b.chosenExperts());
                assertEquals(prompt.length * cpu.config().expertsPerToken() * cpu.config().numMoeLayers(), a.chosenExperts().length);
                float[] x = a.logits().row(0), y = b.logits().row(0);
                for (int t = 0; t < x.length; t++) assertEquals(x[t], y[t], 1e-4, "logit " + t);
                assertEquals(Sampler.argmax(x), Sampler.argmax(y));
            }
        }
    }

    @Test
    void decodeStepsReplayedFromACapturedGraphEqualKernelByKernelSteps() {
        var gpu = EmulatedGpu.open();
        try (LoadedModel cpu = LoadedModel.open(TinyModel.dir(), 1);
             GpuModel model = onGpu(gpu, cpu, 64, null)) {
            var sequences = new HeapSequences(model, BLOCKS_PER_SEQUENCE);
            SequenceEngine.Sequence replayed = sequences.newSequence();
            SequenceEngine.Sequence launched = sequences.newSequence();
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
    void blockIdsOutsideTheDevicesKvMemoryAreRefused() {
        var gpu = EmulatedGpu.open();
        try (LoadedModel cpu = LoadedModel.open(TinyModel.dir(), 1);
             GpuModel model = onGpu(gpu, cpu, 2, null)) {
            var beyond = new SequenceKvCache(cpu.config(), GpuKvBlocks.BLOCK, 2);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> model.forward(List.of(new SequenceChunk(beyond, 0, new int[] {5, 6})), new int[] {1}));
            assertEquals("KV block 2 is outside the GPU's 2 blocks", e.getMessage());
        }
    }

    @Test
    void randomWeightsOfAConfigsShapeGiveFiniteLogits() {
        var gpu = EmulatedGpu.open();
        ErnieConfig config = ErnieConfig.load(TinyModel.dir());
        try (GpuModel model = GpuModel.load(gpu, config, new RandomWeights(gpu, 7, layer -> {}), 64)) {
            float[] logits = new HeapSequences(model, BLOCKS_PER_SEQUENCE).newSequence().append(new int[] {5, 6, 7, 8});
            assertEquals(config.vocabSize(), logits.length);
            for (float v : logits) assertTrue(Float.isFinite(v), "finite logits from random weights");
        }
    }
}
