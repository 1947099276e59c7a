package io.expertmesh.tools;

import io.expertmesh.kvstore.KvBlockPool;
import io.expertmesh.kvstore.KvBlockTable;
import io.expertmesh.model.cuda.GpuKvBlocks;
import io.expertmesh.model.cuda.GpuModel;
import io.expertmesh.model.engine.SequenceChunk;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.sampling.Sampler;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Throughput of a {@link GpuModel}: prefill of one prompt, then greedy decoding of {@code batch}
 * sequences together, for each batch size (the logits copied to the host's argmax, as the server's
 * sampler takes them; decode steps replayed as CUDA graphs), and at batch 1 once more launching
 * kernel by kernel, to compare. The sequences' KV blocks come from a pool of the GPU's blocks. Medians over rounds after a warm-up; no measurement starts after the
 * deadline, so a time-boxed run reports the rounds it finished (each metric's {@code rounds}).
 */
final class GpuBench {
    /** No deadline: every round runs. */
    static final long NO_DEADLINE = Long.MAX_VALUE;

    private GpuBench() {}

    static Map<String, Object> run(GpuModel gpu, int promptLen, int gen, int[] batches, int rounds, long seed, PrintStream err) {
        return run(gpu, promptLen, gen, batches, rounds, seed, NO_DEADLINE, err);
    }

    static Map<String, Object> run(GpuModel gpu, int promptLen, int gen, int[] batches, int rounds, long seed, long deadlineNanos,
                                   PrintStream err) {
        int vocabLimit = Math.min(gpu.config().vocabSize(), 50_000);
        int[] prompt = new SplittableRandom(seed).ints(promptLen, 0, vocabLimit).toArray();
        KvBlockPool pool = KvBlockPool.deviceResident(gpu.config(), GpuKvBlocks.BLOCK,
                (long) gpu.kvBlocks() * KvBlockPool.bytesPerBlock(gpu.config(), GpuKvBlocks.BLOCK));
        Map<String, Supplier<Double>> measurements = new LinkedHashMap<>();
        measurements.put("prefill", () -> prefill(gpu, pool, prompt));
        for (int b : batches) measurements.put("decode " + b, () -> decode(gpu, pool, prompt, b, gen));
        measurements.put("without graphs", () -> {
            gpu.useGraphs(false);
            try {
                return decode(gpu, pool, prompt, 1, gen);
            } finally {
                gpu.useGraphs(true);
            }
        });
        var progress = new Progress(err, "gpu bench", (rounds + 1) * measurements.size(), "runs");
        Map<String, List<Double>> measured = new LinkedHashMap<>();
        measurements.keySet().forEach(name -> measured.put(name, new ArrayList<>()));
        // Kept apart from the medians, but reported: the only figures when the deadline ends the run in its warm-up.
        Map<String, Object> warmup = new LinkedHashMap<>();
        boolean stoppedAtDeadline = false;
        rounds:
        for (int round = 0; round <= rounds; round++) {
            for (var m : measurements.entrySet()) {
                if (System.nanoTime() - deadlineNanos > 0) {
                    stoppedAtDeadline = true;
                    break rounds;
                }
                double value = m.getValue().get();
                progress.advance(1);
                if (round > 0) measured.get(m.getKey()).add(value);
                else warmup.put(m.getKey(), value);
            }
        }
        progress.finish();
        long[] memory = gpu.device().memoryUsedAndTotal();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("device", gpu.device().name());
        out.put("layers", gpu.config().numLayers());
        out.put("weight_gb", gpu.weights().bytes() / 1e9);
        out.put("prompt_len", promptLen);
        out.put("gen", gen);
        out.put("rounds", rounds);
        out.put("stopped_at_deadline", stoppedAtDeadline);
        out.put("prefill_tok_s", median(measured.get("prefill")));
        Map<String, Object> byBatch = new LinkedHashMap<>();
        for (int b : batches) byBatch.put(String.valueOf(b), median(measured.get("decode " + b)));
        out.put("decode_tok_s", byBatch);
        out.put("decode_tok_s_batch1_without_cuda_graphs", median(measured.get("without graphs")));
        Map<String, Object> counts = new LinkedHashMap<>();
        measured.forEach((name, values) -> counts.put(name, values.size()));
        out.put("rounds_measured", counts);
        out.put("warmup_tok_s", warmup);
        out.put("gpu_memory_used_gb", memory[0] / 1e9);
        out.put("gpu_memory_total_gb", memory[1] / 1e9);
        return out;
    }

    private static double prefill(GpuModel gpu, KvBlockPool pool, int[] prompt) {
        KvBlockTable table = reserved(pool, prompt.length);
        try {
            long t0 = System.nanoTime();
            gpu.forward(List.of(new SequenceChunk(table, 0, prompt)), new int[] {prompt.length - 1});
            return prompt.length / ((System.nanoTime() - t0) / 1e9);
        } finally {
            table.release();
        }
    }

    /** Tokens per second of {@code gen} steps of {@code batch} sequences that each start from the prompt. */
    private static double decode(GpuModel gpu, KvBlockPool pool, int[] prompt, int batch, int gen) {
        List<KvBlockTable> tables = new ArrayList<>();
        try {
            int[] next = new int[batch];
            for (int i = 0; i < batch; i++) {
                tables.add(reserved(pool, prompt.length + gen));
                FloatMatrix logits = gpu.forward(List.of(new SequenceChunk(tables.get(i), 0, prompt)), new int[] {prompt.length - 1}).logits();
                next[i] = Sampler.argmax(logits.row(0));
            }
            int[] rows = new int[batch];
            for (int i = 0; i < batch; i++) rows[i] = i;
            long t0 = System.nanoTime();
            for (int step = 0; step < gen; step++) {
                List<SequenceChunk> chunks = new ArrayList<>(batch);
                for (int i = 0; i < batch; i++) chunks.add(new SequenceChunk(tables.get(i), prompt.length + step, new int[] {next[i]}));
                FloatMatrix logits = gpu.forward(chunks, rows).logits();
                for (int i = 0; i < batch; i++) next[i] = Sampler.argmax(logits.row(i));
            }
            return (double) batch * gen / ((System.nanoTime() - t0) / 1e9);
        } finally {
            tables.forEach(KvBlockTable::release);
        }
    }

    private static KvBlockTable reserved(KvBlockPool pool, int tokens) {
        KvBlockTable table = pool.newTable();
        if (!table.reserve(tokens)) throw new IllegalStateException("the GPU's " + pool.totalBlocks() + " KV blocks cannot hold the benchmark's sequences");
        return table;
    }

    /** The median, or null when the deadline left no measured round. */
    private static Double median(List<Double> values) {
        return values.isEmpty() ? null : Bench.median(values, Double::doubleValue);
    }
}
