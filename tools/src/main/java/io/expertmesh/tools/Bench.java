package io.expertmesh.tools;

import io.expertmesh.kvstore.KvBlockPool;
import io.expertmesh.kvstore.KvBlockTable;
import io.expertmesh.model.Json;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.engine.ForwardTrace;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.engine.Routing;
import io.expertmesh.model.engine.SequenceChunk;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.sampling.Sampler;
import io.expertmesh.model.weights.ErnieWeights;
import io.expertmesh.model.weights.LayerWeights;
import io.expertmesh.model.weights.RoutedExpertWeights;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;
import java.util.regex.Pattern;

/**
 * {@code mesh bench}: prefill and greedy decode throughput of one sequence, the weight bytes a
 * decode step streams (attention, dense MLP, router, shared expert, the routed experts actually
 * chosen, LM head) and the resulting bandwidth, beside the machine's read and copy bandwidth
 * measured in the same run between rounds. Reports medians over rounds after a warm-up round.
 */
public final class Bench {
    private static final Pattern MAPPING_HEADER = Pattern.compile("[0-9a-f]+-[0-9a-f]+ ");
    static final int PROMPT_LEN = 512;
    static final int GEN = 64;
    static final int ROUNDS = 3;
    static final long SEED = 0;

    public static final CommandSpec SPEC = CommandSpec.of("bench",
            "Measures prefill and decode speed of one sequence and the weight bandwidth decode reaches.",
            ModelCommands.MODEL,
            Option.valued("prompt-len", "N", PROMPT_LEN, "prompt tokens (random ids)"),
            Option.valued("gen", "N", GEN + "; " + GpuCheck.RANDOM_GEN + " with --config", "tokens to decode per round"),
            Option.valued("rounds", "N", ROUNDS, "measured rounds, after a warm-up round"),
            Option.valued("seed", "S", SEED, "seed of the random prompt (and, with --config, of the weights)"),
            ModelCommands.THREADS,
            GpuCheckpoint.DEVICE,
            Option.valued("config", "FILE", "none: --model's checkpoint", "--device cuda only: random weights in this config.json's shape"),
            Option.valued("layers", "N", Synth.ALL_LAYERS, "--device cuda with --config only: the first N layers"),
            Option.valued("batches", "B,B,...", GpuCheck.DEFAULT_BATCHES, "--device cuda only: the batch sizes to measure"),
            Option.flag("paced", "CPU only: after the warm-up print {\"ready\":true}, then one JSON round per line read from stdin"),
            Option.flag("json", "print one JSON object"));

    private Bench() {}

    public static void run(String[] argv, Path defaultModel, PrintStream out, PrintStream err) {
        CliArgs a = CliArgs.parse(SPEC, argv);
        if (GpuCheckpoint.selected(a)) {
            out.println(Json.write(GpuCheck.bench(a, defaultModel, err)));
            return;
        }
        if (a.has("config") || a.has("batches") || a.has("layers")) {
            throw new UsageException("--config, --layers and --batches apply to --device cuda only");
        }
        Path dir = a.model("model", defaultModel);
        int promptLen = a.integer("prompt-len", PROMPT_LEN, 1, 1 << 20);
        int gen = a.integer("gen", GEN, 2, 1 << 20);
        int rounds = a.integer("rounds", ROUNDS, 1, 1000);
        long seed = a.has("seed") ? a.longValue("seed") : SEED;
        int threads = ModelCommands.threads(a);
        try (LoadedModel model = LoadedModel.open(dir, threads)) {
            MemoryBandwidth memory = new MemoryBandwidth(model.model().backend());
            ErnieConfig c = model.config();
            if ((long) promptLen + gen > c.maxPositions()) throw new UsageException("--prompt-len + --gen exceeds the model's context");
            int[] prompt = new SplittableRandom(seed).ints(promptLen, 0, Math.min(c.vocabSize(), 50_000)).toArray();
            var weights = new WeightBytes(model.weights(), model.experts());
            if (a.flag("paced")) {
                paced(model, prompt, gen, weights, memory, out);
                return;
            }
            var progress = new Progress(err, "bench", rounds + 1, "rounds");
            round(model, prompt, gen, weights);
            progress.advance(1);
            List<Round> results = new ArrayList<>();
            for (int r = 0; r < rounds; r++) {
                double read = memory.read();
                double copy = memory.copy();
                Round round = round(model, prompt, gen, weights);
                results.add(new Round(round.prefillTokS, round.decodeTokS, round.bytesPerToken, read, copy));
                progress.advance(1);
            }
            progress.finish();
            report(a.flag("json"), out, dir, c, model.model().backend(), promptLen, gen, results);
        }
    }

    /**
     * {@code --paced}: after the warm-up round prints {"ready":true}, then runs one round for every line
     * read from stdin and prints it as one JSON line, until stdin ends. Lets a driver alternate this
     * engine round by round with another one loaded beside it (scripts/bench-llamacpp).
     */
    private static void paced(LoadedModel model, int[] prompt, int gen, WeightBytes weights, MemoryBandwidth memory, PrintStream out) {
        round(model, prompt, gen, weights);
        out.println(Json.write(Map.of("ready", true)));
        out.flush();
        var in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try {
            while (in.readLine() != null) {
                double read = memory.read();
                Round r = round(model, prompt, gen, weights);
                long[] mapped = checkpointPages();
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("prefill_tok_s", r.prefillTokS());
                m.put("decode_tok_s", r.decodeTokS());
                m.put("weight_bytes_per_decode_token", r.bytesPerToken());
                m.put("effective_weight_gb_s", r.bytesPerToken() * r.decodeTokS() / 1e9);
                m.put("machine_read_gb_s", read);
                m.put("checkpoint_in_2mb_pages", mapped[0] > 0 ? (double) mapped[1] / mapped[0] : 0.0);
                out.println(Json.write(m));
                out.flush();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading the paced rounds from stdin", e);
        }
    }

    /** Positions per KV block of a round's sequence, as the server's default. */
    private static final int KV_BLOCK = 16;

    private record Round(double prefillTokS, double decodeTokS, double bytesPerToken, double readGBs, double copyGBs) {
        double effectiveGBs() {
            return bytesPerToken * decodeTokS / 1e9;
        }
    }

    private static Round round(LoadedModel model, int[] prompt, int gen, WeightBytes weights) {
        KvBlockTable cache = new KvBlockPool(model.config(), KV_BLOCK, KvBlockPool.bytesPerBlock(model.config(), KV_BLOCK)
                * ((prompt.length + gen + KV_BLOCK - 1) / KV_BLOCK)).newTable();
        cache.reserve(prompt.length + gen);
        long t0 = System.nanoTime();
        FloatMatrix hidden = model.model().forward(List.of(new SequenceChunk(cache, 0, prompt)), ForwardTrace.NONE);
        int next = Sampler.argmax(model.model().logits(hidden, new int[] {prompt.length - 1}).data());
        long t1 = System.nanoTime();
        var counter = new ExpertCounter(model.config());
        for (int step = 0; step < gen; step++) {
            hidden = model.model().forward(List.of(new SequenceChunk(cache, prompt.length + step, new int[] {next})), counter);
            next = Sampler.argmax(model.model().logits(hidden, new int[] {0}).data());
        }
        long t2 = System.nanoTime();
        double bytes = weights.total(gen, counter.distinctExperts) / gen;
        return new Round(prompt.length / ((t1 - t0) / 1e9), gen / ((t2 - t1) / 1e9), bytes, 0, 0);
    }

    /** Counts, over all steps, the distinct experts each MoE layer ran. */
    private static final class ExpertCounter implements ForwardTrace {
        final long[] distinctExperts;

        ExpertCounter(ErnieConfig c) {
            distinctExperts = new long[c.numLayers()];
        }

        @Override
        public void routing(int layer, Routing routing) {
            BitSet seen = new BitSet();
            for (int e : routing.experts()) seen.set(e);
            distinctExperts[layer] += seen.cardinality();
        }
    }

    /** Bytes of the weights one decode step reads, given how many experts each layer ran. */
    private record WeightBytes(long fixed, long[] expertBytes) {
        WeightBytes(ErnieWeights w, RoutedExpertWeights experts) {
            this(fixedBytes(w), expertBytes(w, experts));
        }

        private static long fixedBytes(ErnieWeights w) {
            long b = w.lmHead().byteSize() + w.embeddings().rowBytes() + 4L * w.finalNorm().length;
            for (LayerWeights l : w.layers()) {
                b += l.attention().byteSize() + 4L * (l.inputNorm().length + l.postAttentionNorm().length);
                if (l.isMoe()) {
                    b += 4L * (l.moe().router().length + l.moe().correctionBias().length);
                    if (l.moe().shared() != null) b += l.moe().shared().byteSize();
                } else {
                    b += l.denseMlp().byteSize();
                }
            }
            return b;
        }

        private static long[] expertBytes(ErnieWeights w, RoutedExpertWeights experts) {
            long[] b = new long[w.layers().size()];
            for (int l = 0; l < b.length; l++) if (w.layers().get(l).isMoe()) b[l] = experts.expert(l, 0).byteSize();
            return b;
        }

        /** Bytes read over {@code steps} steps whose layers ran {@code distinct[l]} experts in all. */
        double total(int steps, long[] distinct) {
            double total = (double) fixed * steps;
            for (int l = 0; l < distinct.length; l++) total += (double) distinct[l] * expertBytes[l];
            return total;
        }
    }

    /** The median of {@code f} over {@code values}; NaN when there are none. */
    static <T> double median(List<T> values, ToDoubleFunction<T> f) {
        double[] v = values.stream().mapToDouble(f).sorted().toArray();
        if (v.length == 0) return Double.NaN;
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static void report(boolean json, PrintStream out, Path dir, ErnieConfig c, KernelBackend backend, int promptLen, int gen,
                               List<Round> rounds) {
        double prefill = median(rounds, Round::prefillTokS);
        double decode = median(rounds, Round::decodeTokS);
        double bytes = median(rounds, Round::bytesPerToken);
        double effective = median(rounds, Round::effectiveGBs);
        double read = median(rounds, Round::readGBs);
        double copy = median(rounds, Round::copyGBs);
        double ratio = median(rounds, r -> r.effectiveGBs() / r.readGBs());
        double rssGB = peakRssBytes() / 1e9;
        long[] mapped = checkpointPages();
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", dir.toString());
            m.put("backend", backend.name());
            m.put("threads", backend.threads());
            m.put("prompt_len", promptLen);
            m.put("gen", gen);
            m.put("rounds", rounds.size());
            m.put("prefill_tok_s", prefill);
            m.put("decode_tok_s", decode);
            m.put("weight_bytes_per_decode_token", bytes);
            m.put("effective_weight_gb_s", effective);
            m.put("machine_read_gb_s", read);
            m.put("machine_copy_gb_s", copy);
            m.put("effective_over_read", ratio);
            m.put("peak_rss_gb", rssGB);
            m.put("checkpoint_resident_gb", mapped[0] / 1e9);
            m.put("checkpoint_in_2mb_pages_gb", mapped[1] / 1e9);
            m.put("per_round", rounds);
            out.println(Json.write(m));
            return;
        }
        out.printf("model   %s: %d layers, hidden %d, %d experts top-%d; %s backend, %d threads%n", dir, c.numLayers(),
                c.hiddenSize(), c.numExperts(), c.expertsPerToken(), backend.name(), backend.threads());
        out.printf("prefill %d tokens: %.1f tok/s   (median of %d rounds: %s)%n", promptLen, prefill, rounds.size(),
                list(rounds, Round::prefillTokS));
        out.printf("decode  %d tokens: %.2f tok/s   (%s)%n", gen, decode, list(rounds, Round::decodeTokS));
        out.printf("weights read per decode token: %.3f GB -> effective %.1f GB/s%n", bytes / 1e9, effective);
        out.printf("machine bandwidth, same run:   read %.1f GB/s (%s), copy %.1f GB/s (read+write)%n", read,
                list(rounds, Round::readGBs), copy);
        out.printf("effective / read bandwidth:    %.2f (median of per-round ratios)%n", ratio);
        out.printf("peak RSS: %.2f GB; checkpoint resident %.2f GB, %.0f%% of it in 2 MB pages%n", rssGB, mapped[0] / 1e9,
                mapped[0] > 0 ? 100.0 * mapped[1] / mapped[0] : 0.0);
        if (mapped[0] > 0 && mapped[1] < mapped[0] / 2) {
            out.println("note: most of the checkpoint is mapped with 4 KB pages, which slows decode; the page cache keeps the"
                    + " files in small pages until they are evicted and read again (README, Performance)");
        }
    }

    private static String list(List<Round> rounds, ToDoubleFunction<Round> f) {
        return String.join(" ", rounds.stream().map(r -> String.format("%.1f", f.applyAsDouble(r))).toList());
    }

    /**
     * Bytes of the mapped checkpoint files resident in this process, and how many of them are mapped
     * with 2 MB pages (decode speed depends on it: 4 KB pages mean a page-table walk every 4 KB).
     */
    private static long[] checkpointPages() {
        long rss = 0, pmd = 0;
        boolean inCheckpoint = false;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
                if (MAPPING_HEADER.matcher(line).lookingAt()) {
                    inCheckpoint = line.endsWith(".safetensors") || line.endsWith(".gguf");
                } else if (inCheckpoint && line.startsWith("Rss:")) {
                    rss += Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                } else if (inCheckpoint && line.startsWith("FilePmdMapped:")) {
                    pmd += Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return new long[] {0, 0};
        }
        return new long[] {rss, pmd};
    }

    private static long peakRssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
