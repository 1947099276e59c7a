package io.expertmesh.tools;

import io.expertmesh.model.cuda.GpuModel;
import io.expertmesh.model.sampling.Sampler;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Throughput of a {@link GpuModel}: prefill of one prompt, then greedy decoding of {@code batch}
 * sequences together, for each batch size (argmax on the GPU, decode steps replayed as CUDA graphs),
 * and at batch 1 twice more: with the logits copied to the host sampler, and launching kernel by
 * kernel, to compare. Medians over rounds after a warm-up.
 */
final class GpuBench {
    private GpuBench() {}

    static Map<String, Object> run(GpuModel gpu, int promptLen, int gen, int[] batches, int rounds, long seed, PrintStream err) {
        int vocabLimit = Math.min(gpu.config().vocabSize(), 50_000);
        int[] prompt = new SplittableRandom(seed).ints(promptLen, 0, vocabLimit).toArray();
        var progress = new Progress(err, "gpu bench", (rounds + 1) * (3 + batches.length), "runs");
        List<Double> prefill = new ArrayList<>();
        Map<Integer, List<Double>> decode = new LinkedHashMap<>();
        List<Double> hostSampling = new ArrayList<>();
        List<Double> withoutGraphs = new ArrayList<>();
        for (int round = 0; round <= rounds; round++) {
            double p = prefill(gpu, prompt);
            progress.advance(1);
            if (round > 0) prefill.add(p);
            for (int b : batches) {
                double d = decode(gpu, prompt, b, gen, false);
                progress.advance(1);
                if (round > 0) decode.computeIfAbsent(b, x -> new ArrayList<>()).add(d);
            }
            double h = decode(gpu, prompt, 1, gen, true);
            progress.advance(1);
            if (round > 0) hostSampling.add(h);
            gpu.useGraphs(false);
            double g = decode(gpu, prompt, 1, gen, false);
            gpu.useGraphs(true);
            progress.advance(1);
            if (round > 0) withoutGraphs.add(g);
        }
        progress.finish();
        long[] memory = gpu.device().memoryUsedAndTotal();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("device", gpu.device().name());
        out.put("layers", gpu.config().numLayers());
        out.put("weight_gb", gpu.weightBytes() / 1e9);
        out.put("prompt_len", promptLen);
        out.put("gen", gen);
        out.put("rounds", rounds);
        out.put("prefill_tok_s", median(prefill));
        Map<String, Object> byBatch = new LinkedHashMap<>();
        decode.forEach((b, v) -> byBatch.put(String.valueOf(b), median(v)));
        out.put("decode_tok_s", byBatch);
        out.put("decode_tok_s_batch1_host_sampling", median(hostSampling));
        out.put("decode_tok_s_batch1_without_cuda_graphs", median(withoutGraphs));
        out.put("gpu_memory_used_gb", memory[0] / 1e9);
        out.put("gpu_memory_total_gb", memory[1] / 1e9);
        return out;
    }

    private static double prefill(GpuModel gpu, int[] prompt) {
        try (GpuModel.DeviceSequence seq = gpu.newSequence()) {
            long t0 = System.nanoTime();
            gpu.forwardGreedy(List.of(seq), List.of(prompt), new int[] {prompt.length - 1});
            return prompt.length / ((System.nanoTime() - t0) / 1e9);
        }
    }

    /** Tokens per second of {@code gen} steps of {@code batch} sequences that each start from the prompt. */
    private static double decode(GpuModel gpu, int[] prompt, int batch, int gen, boolean hostSampling) {
        List<GpuModel.DeviceSequence> seqs = new ArrayList<>();
        try {
            int[] next = new int[batch];
            for (int i = 0; i < batch; i++) {
                seqs.add(gpu.newSequence());
                next[i] = gpu.forwardGreedy(List.of(seqs.get(i)), List.of(prompt), new int[] {prompt.length - 1})[0];
            }
            int[] rows = new int[batch];
            for (int i = 0; i < batch; i++) rows[i] = i;
            long t0 = System.nanoTime();
            for (int step = 0; step < gen; step++) {
                List<int[]> tokens = new ArrayList<>(batch);
                for (int t : next) tokens.add(new int[] {t});
                if (hostSampling) {
                    var logits = gpu.forward(seqs, tokens, rows);
                    for (int i = 0; i < batch; i++) {
                        next[i] = Sampler.argmax(Arrays.copyOfRange(logits.data(), i * logits.cols(), (i + 1) * logits.cols()));
                    }
                } else {
                    next = gpu.forwardGreedy(seqs, tokens, rows);
                }
            }
            return (double) batch * gen / ((System.nanoTime() - t0) / 1e9);
        } finally {
            seqs.forEach(GpuModel.DeviceSequence::close);
        }
    }

    private static double median(List<Double> values) {
        return Bench.median(values, Double::doubleValue);
    }
}
