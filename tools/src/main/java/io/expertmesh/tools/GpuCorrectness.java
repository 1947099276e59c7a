package io.expertmesh.tools;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.kvstore.KvBlockPool;
import io.expertmesh.kvstore.KvBlockTable;
import io.expertmesh.kvstore.PooledSequences;
import io.expertmesh.model.Json;
import io.expertmesh.model.cuda.GpuKvBlocks;
import io.expertmesh.model.cuda.GpuModel;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.engine.SequenceChunk;
import io.expertmesh.model.engine.SequenceEngine;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.safetensors.SafetensorsFile;
import io.expertmesh.model.safetensors.Tensor;
import io.expertmesh.model.sampling.Sampler;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The GPU path against the CPU path and the transformers reference stored beside a checkpoint
 * ({@code reference.json} + {@code reference.safetensors}): for every case, the logits at every
 * stored prompt position, then greedy decoding of as many steps as the reference holds, the GPU's
 * and the CPU's logits compared step by step. Both run their {@code ModelStep} over block tables of
 * a kv-store pool, as the server does.
 */
public final class GpuCorrectness {
    /**
     * Largest |GPU − reference| and |GPU − CPU| logit allowed: activations, KV cache and sums are
     * fp32 on the GPU too, so the paths differ only in the order of additions (about 1e-5 here).
     */
    public static final double TOLERANCE = 1e-3;

    /** One reference case: do the GPU's greedy ids equal the reference, and how far are its logits. */
    public record CaseResult(String name, int promptTokens, int[] expectedIds, int[] gpuIds, int[] cpuIds,
                             double maxDiffVsReference, double maxDiffVsCpu) {
        public boolean idsMatch() {
            return Arrays.equals(expectedIds, gpuIds);
        }

        public boolean passes() {
            return idsMatch() && maxDiffVsReference <= TOLERANCE && maxDiffVsCpu <= TOLERANCE;
        }
    }

    /**
     * The GPU against the CPU path on one prompt, then {@code steps} greedy steps each path takes
     * with its own choice: the greedy ids of both, the largest |GPU − CPU| logit over all steps, and
     * the largest |CPU| logit, for scale.
     */
    public record CpuComparison(int[] gpuIds, int[] cpuIds, double maxDiff, double maxCpuLogit) {
        public boolean idsMatch() {
            return Arrays.equals(gpuIds, cpuIds);
        }
    }

    private GpuCorrectness() {}

    public static CpuComparison compareWithCpu(LoadedModel cpu, GpuModel gpu, int[] prompt, int steps) {
        int[] gpuIds = new int[steps];
        int[] cpuIds = new int[steps];
        double maxDiff = 0;
        double maxCpu = 0;
        try (SequenceEngine.Sequence g = PooledSequences.onDevice(gpu, GpuKvBlocks.BLOCK, gpu.kvBlocks()).newSequence();
             SequenceEngine.Sequence k = PooledSequences.onHeap(cpu.model()).newSequence()) {
            float[] gl = g.append(prompt);
            float[] cl = k.append(prompt);
            for (int step = 0; step < steps; step++) {
                for (int t = 0; t < cl.length; t++) {
                    maxDiff = Math.max(maxDiff, Math.abs(gl[t] - cl[t]));
                    maxCpu = Math.max(maxCpu, Math.abs(cl[t]));
                }
                gpuIds[step] = Sampler.argmax(gl);
                cpuIds[step] = Sampler.argmax(cl);
                if (step + 1 < steps) {
                    gl = g.append(new int[] {gpuIds[step]});
                    cl = k.append(new int[] {cpuIds[step]});
                }
            }
        }
        return new CpuComparison(gpuIds, cpuIds, maxDiff, maxCpu);
    }

    public static List<CaseResult> run(LoadedModel cpu, GpuModel gpu, Path modelDir) {
        JsonNode reference = Json.readTree(modelDir.resolve("reference.json"));
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> tensors = SafetensorsFile.open(modelDir.resolve("reference.safetensors"), arena).tensors();
            List<CaseResult> results = new ArrayList<>();
            for (JsonNode c : reference.get("cases")) results.add(runCase(cpu, gpu, c, tensors));
            return results;
        }
    }

    private static CaseResult runCase(LoadedModel cpu, GpuModel gpu, JsonNode c, Map<String, Tensor> tensors) {
        int[] prompt = ints(c.get("input_ids"));
        int[] expected = ints(c.get("greedy_new_ids"));
        int vocab = gpu.config().vocabSize();
        int[] positions = tensors.get(c.get("positions_tensor").asText()).toIntArray();
        Tensor stored = tensors.get(c.get("logits_tensor").asText());
        int[] rows = Arrays.copyOf(positions, positions.length + 1);
        rows[positions.length] = prompt.length - 1;
        int[] gpuIds = new int[expected.length];
        int[] cpuIds = new int[expected.length];
        double vsReference = 0;
        double vsCpu = 0;
        KvBlockTable table = KvBlockPool.deviceResident(gpu.config(), GpuKvBlocks.BLOCK,
                (long) gpu.kvBlocks() * KvBlockPool.bytesPerBlock(gpu.config(), GpuKvBlocks.BLOCK)).newTable();
        if (!table.reserve(prompt.length + expected.length)) {
            throw new IllegalStateException("the GPU's " + gpu.kvBlocks() + " KV blocks cannot hold case " + c.get("name").asText());
        }
        try (SequenceEngine.Sequence k = PooledSequences.onHeap(cpu.model()).newSequence()) {
            // The prefill asks for the logits of every stored position, so it steps the table itself.
            FloatMatrix prefill = gpu.forward(List.of(new SequenceChunk(table, 0, prompt)), rows).logits();
            for (int i = 0; i < positions.length; i++) {
                for (int t = 0; t < vocab; t++) {
                    vsReference = Math.max(vsReference, Math.abs(prefill.get(i, t) - stored.getFloat((long) i * vocab + t)));
                }
            }
            float[] gl = prefill.row(positions.length);
            float[] cl = k.append(prompt);
            for (int step = 0; step < expected.length; step++) {
                for (int t = 0; t < vocab; t++) vsCpu = Math.max(vsCpu, Math.abs(gl[t] - cl[t]));
                gpuIds[step] = Sampler.argmax(gl);
                cpuIds[step] = Sampler.argmax(cl);
                if (step + 1 < expected.length) {
                    int position = prompt.length + step;
                    gl = gpu.forward(List.of(new SequenceChunk(table, position, new int[] {gpuIds[step]})), new int[] {0}).logits().row(0);
                    cl = k.append(new int[] {cpuIds[step]});
                }
            }
        }
        return new CaseResult(c.get("name").asText(), prompt.length, expected, gpuIds, cpuIds, vsReference, vsCpu);
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
