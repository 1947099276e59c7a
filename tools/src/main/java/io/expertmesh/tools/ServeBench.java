package io.expertmesh.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.kvstore.PooledSequences;
import io.expertmesh.model.Json;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.engine.ModelSource;
import io.expertmesh.model.generate.Generation;
import io.expertmesh.model.generate.Generator;
import io.expertmesh.model.guided.Guide;
import io.expertmesh.model.guided.GuideSpec;
import io.expertmesh.model.guided.TokenVocabulary;
import io.expertmesh.model.sampling.Sampler;
import io.expertmesh.model.sampling.TokenHistory;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code mesh bench-serve [--url http://127.0.0.1:PORT]}: throughput of the HTTP service at several numbers of concurrent SSE
 * streams, time to first token from the server's own histogram, and the service's overhead over the
 * engine: the same single-stream requests run through the in-process generator and through HTTP,
 * alternating round by round. Every request generates exactly {@code --gen} tokens (min_tokens =
 * max_tokens). Medians over rounds after {@code --warmup} warm-up rounds. Per level it also reports
 * the MoE layer time p50/p99 from the node's {@code mesh:moe_layer_seconds} histogram and, when the
 * experts live on other nodes, the dispatch traffic per MoE layer: messages, bytes on the wire, and
 * their ratio to 2 × rows × hidden × 2 B (the rows both ways as BF16). With {@code --url} it
 * measures a running server or cluster instead (no engine comparison); {@code --model} then names
 * the model it serves (for the hidden size).
 *
 * <p>With {@code --json-schema FILE} every level is measured twice, plain and with that schema as
 * {@code response_format}, and the guide's own cost is measured in-process: the sampler's time per
 * token with the guide's mask over without it (masks cached, and on first visits), set against the
 * decode step at the largest level (its ITL p50), since one step samples every stream in turn.
 */
public final class ServeBench {
    private static final String TTFT = "mesh:time_to_first_token_seconds";
    private static final String ITL = "mesh:inter_token_latency_seconds";
    private static final String MOE_LAYER = "mesh:moe_layer_seconds";
    private static final String STREAMS = "1,8,32";
    private static final int PROMPT_LEN = 128;
    private static final int GEN = 64;
    private static final int ROUNDS = 3;
    private static final int WARMUP = 1;

    public static final CommandSpec SPEC = CommandSpec.of("bench-serve",
            "Measures the HTTP service at several numbers of concurrent streams, and its overhead over the engine.",
            ModelCommands.MODEL.withHelp("the model to serve; with --url, the one the server serves"),
            Option.valued("url", "URL[,URL...]", "none: starts a one-node server in this process",
                    "measure the server at this loopback URL instead; several URLs (servers of the same model) are measured side by side, "
                            + "their rounds alternating"),
            Option.flag("json", "print one JSON object per line: one per server, then, with several, their side-by-side ratios"),
            Option.valued("streams", "N,N,...", STREAMS, "the numbers of concurrent streams to measure"),
            Option.valued("prompt-len", "N", PROMPT_LEN, "prompt tokens per request (random ids)"),
            Option.valued("gen", "N", GEN, "tokens every request generates (min_tokens = max_tokens)"),
            Option.valued("rounds", "N", ROUNDS, "measured rounds per level"),
            Option.valued("warmup", "N", WARMUP, "warm-up rounds per level"),
            Option.valued("threads", "N", "server: as configured; engine: one per processor",
                    "compute threads of the server it starts and of the engine"),
            Option.valued("json-schema", "FILE", "none", "also measure every level with this JSON schema as response_format"));

    private ServeBench() {}

    /** Dispatch traffic of a level's measured rounds, summed over nodes: batches, rows and frame bytes. */
    record Traffic(double messages, double rows, double bytes) {}

    /** A level's measured rounds on one server; {@code moeP50Rounds}: each round's own MoE layer p50 (NaN where it had no MoE layer). */
    record Level(int streams, boolean guided, List<Double> tokPerS, double ttftP50, double ttftP99, double itlP50, double moeP50, double moeP99,
                 double moeLayers, Traffic traffic, List<Double> moeP50Rounds) {}

    public static void run(String[] argv, Path defaultModel, LocalServer.Starter servers, PrintStream out, PrintStream err) {
        CliArgs a = CliArgs.parse(SPEC, argv);
        Path dir = a.model("model", defaultModel);
        ModelSource source = ModelSource.of(dir);
        int[] levels = a.has("streams") ? a.intList("streams") : Arrays.stream(STREAMS.split(",")).mapToInt(Integer::parseInt).toArray();
        int promptLen = a.integer("prompt-len", PROMPT_LEN, 1, 1 << 16);
        int gen = a.integer("gen", GEN, 1, 1 << 16);
        int rounds = a.integer("rounds", ROUNDS, 1, 100);
        int warmup = a.integer("warmup", WARMUP, 0, 1000);
        int hidden = source.config().hiddenSize();
        for (int s : levels) if (s < 1 || s > 256) throw new UsageException("--streams: each level must be in [1, 256], got " + s);
        int threads = a.integer("threads", 0, 1, 4096);
        int maxStreams = Arrays.stream(levels).max().orElse(1);
        Tokenizer tokenizer = source.tokenizer();
        SplittableRandom random = new SplittableRandom(7);
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < maxStreams; i++) prompts.add(random.ints(promptLen, 3, Math.min(tokenizer.size(), 50_000)).toArray());
        JsonNode schema = null;
        if (a.has("json-schema")) {
            Path file = Path.of(a.required("json-schema"));
            try {
                schema = Json.MAPPER.readTree(Files.readString(file));
            } catch (IOException e) {
                throw new UsageException("--json-schema: cannot read " + file + ": " + e.getMessage());
            }
        }
        int passes = schema == null ? 1 : 2;

        if (a.has("url")) {
            List<String> urls = Arrays.stream(a.required("url").split(",")).map(String::strip).toList();
            List<Client> clients = new ArrayList<>();
            for (String u : urls) {
                URI url = URI.create(u);
                if (!"127.0.0.1".equals(url.getHost()) && !"localhost".equals(url.getHost())) {
                    throw new UsageException("--url must point at 127.0.0.1 (benchmarks stay on loopback), got " + url);
                }
                clients.add(new Client(url.getPort()));
            }
            clients.forEach(Client::awaitHealthy);
            var progress = new Progress(err, "bench-serve", (rounds + warmup) * levels.length * passes * clients.size(), "rounds");
            List<List<Level>> results = measureLevels(clients, prompts, levels, rounds, warmup, gen, schema, progress);
            progress.finish();
            for (int i = 0; i < urls.size(); i++) {
                report(a.flag("json"), out, urls.get(i), promptLen, gen, rounds, hidden, List.of(), List.of(), results.get(i));
            }
            if (urls.size() > 1) reportSideBySide(a.flag("json"), out, urls, results);
            if (schema != null) reportGuideCost(a.flag("json"), out, schema, tokenizer, gen, results.getFirst());
            return;
        }
        try (LocalServer server = servers.start(dir, threads, 256, 1024);
             LoadedModel engine = LoadedModel.open(dir, threads > 0 ? threads : Runtime.getRuntime().availableProcessors())) {
            var client = new Client(server.httpPort());
            client.awaitHealthy();
            var progress = new Progress(err, "bench-serve", (rounds + 1) + (rounds + warmup) * levels.length * passes, "rounds");
            List<Double> engineTokS = new ArrayList<>();
            List<Double> serviceTokS = new ArrayList<>();
            for (int r = 0; r <= rounds; r++) {
                double e = engineRound(engine, tokenizer, prompts.getFirst(), gen);
                double s = client.round(prompts.subList(0, 1), gen, null);
                if (r > 0) {
                    engineTokS.add(e);
                    serviceTokS.add(s);
                }
                progress.advance(1);
            }
            List<Level> results = measureLevels(List.of(client), prompts, levels, rounds, warmup, gen, schema, progress).getFirst();
            progress.finish();
            report(a.flag("json"), out, dir.toString(), promptLen, gen, rounds, hidden, engineTokS, serviceTokS, results);
            if (schema != null) reportGuideCost(a.flag("json"), out, schema, tokenizer, gen, results);
        }
    }

    /**
     * Per level and server: {@code warmup} rounds, then {@code rounds} measured rounds; histograms and
     * counters from their growth over the measured rounds. With several servers, each gets its
     * warm-up rounds, then their measured rounds alternate, measured round {@code r} starting with
     * server {@code r mod n}, so drift on the machine hits all of them alike. With a schema, each
     * level is measured plain, then guided. One list of levels per server, in the order given.
     */
    private static List<List<Level>> measureLevels(List<Client> clients, List<int[]> prompts, int[] levels, int rounds, int warmup, int gen,
                                                   JsonNode schema, Progress progress) {
        List<List<Level>> results = new ArrayList<>();
        for (int i = 0; i < clients.size(); i++) results.add(new ArrayList<>());
        for (int streams : levels) {
            for (JsonNode guide : schema == null ? new JsonNode[] {null} : new JsonNode[] {null, schema}) {
                List<Level> level = measureLevel(clients, prompts.subList(0, streams), rounds, warmup, gen, guide, progress);
                for (int i = 0; i < clients.size(); i++) results.get(i).add(level.get(i));
            }
        }
        return results;
    }

    private static List<Level> measureLevel(List<Client> clients, List<int[]> prompts, int rounds, int warmup, int gen, JsonNode schema,
                                            Progress progress) {
        int n = clients.size();
        for (Client c : clients) {
            for (int w = 0; w < warmup; w++) {
                c.round(prompts, gen, schema);
                progress.advance(1);
            }
        }
        List<LevelRounds> measured = new ArrayList<>();
        for (int i = 0; i < n; i++) measured.add(new LevelRounds());
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < n; k++) {
                int i = (r + k) % n;
                Client c = clients.get(i);
                MetricsText before = c.metrics();
                double tokS = c.round(prompts, gen, schema);
                measured.get(i).add(tokS, before, c.metrics());
                progress.advance(1);
            }
        }
        return measured.stream().map(m -> m.level(prompts.size(), schema != null)).toList();
    }

    /** One server's measured rounds at one level: tokens/s and the MoE layer p50 of each round, histograms and traffic summed over them. */
    private static final class LevelRounds {
        private final List<Double> tokS = new ArrayList<>();
        private final List<Double> moeP50 = new ArrayList<>();
        private MetricsText.Histogram ttft = MetricsText.Histogram.empty();
        private MetricsText.Histogram itl = MetricsText.Histogram.empty();
        private MetricsText.Histogram moe = MetricsText.Histogram.empty();
        private double messages;
        private double rows;
        private double bytes;

        void add(double roundTokS, MetricsText before, MetricsText after) {
            tokS.add(roundTokS);
            var roundMoe = MetricsText.Histogram.delta(before, after, MOE_LAYER);
            moeP50.add(roundMoe.quantile(0.5));
            moe = moe.plus(roundMoe);
            ttft = ttft.plus(MetricsText.Histogram.delta(before, after, TTFT));
            itl = itl.plus(MetricsText.Histogram.delta(before, after, ITL));
            messages += MetricsText.increase(before, after, "mesh:dispatch_messages_total");
            rows += MetricsText.increase(before, after, "mesh:dispatch_rows_total");
            bytes += MetricsText.increase(before, after, "mesh:dispatch_bytes_total");
        }

        Level level(int streams, boolean guided) {
            return new Level(streams, guided, tokS, ttft.quantile(0.5), ttft.quantile(0.99), itl.quantile(0.5), moe.quantile(0.5),
                    moe.quantile(0.99), moe.observations(), new Traffic(messages, rows, bytes), moeP50);
        }
    }

    /**
     * Servers measured side by side: per level, every server's median tokens/s and MoE layer p50
     * against the first server's, and the medians of those ratios taken round by round (a round of
     * each server and the same round of the first ran next to each other).
     */
    private static void reportSideBySide(boolean json, PrintStream out, List<String> urls, List<List<Level>> results) {
        List<Level> base = results.getFirst();
        ArrayNode arr = Json.MAPPER.createArrayNode();
        if (!json) out.printf("%nside by side, against %s (rounds alternated)%n%8s %7s  %-28s %9s %12s %16s %16s%n", urls.getFirst(),
                "streams", "schema", "server", "tok/s", "MoE p50 (µs)", "tok/s ratio", "MoE p50 ratio");
        for (int l = 0; l < base.size(); l++) {
            for (int i = 0; i < urls.size(); i++) {
                Level x = results.get(i).get(l);
                Level b = base.get(l);
                double tokRatio = median(ratios(x.tokPerS(), b.tokPerS()));
                double moeRatio = median(ratios(x.moeP50Rounds(), b.moeP50Rounds()));
                if (json) {
                    arr.addObject().put("streams", x.streams()).put("json_schema", x.guided()).put("target", urls.get(i))
                            .put("tok_s", median(x.tokPerS())).put("moe_layer_p50_s", x.moeP50())
                            .put("tok_s_ratio_median_of_rounds", tokRatio).put("moe_layer_p50_ratio_median_of_rounds", moeRatio);
                } else {
                    out.printf("%8d %7s  %-28s %9.1f %12.0f %16.3f %16.3f%n", x.streams(), x.guided() ? "yes" : "no", urls.get(i),
                            median(x.tokPerS()), x.moeP50() * 1e6, tokRatio, moeRatio);
                }
            }
        }
        if (json) out.println(Json.write(Json.MAPPER.createObjectNode().set("side_by_side", arr)));
    }

    /** Round by round, {@code x[r] / base[r]}. */
    private static List<Double> ratios(List<Double> x, List<Double> base) {
        List<Double> r = new ArrayList<>();
        for (int i = 0; i < x.size(); i++) r.add(x.get(i) / base.get(i));
        return r;
    }

    /**
     * The guide's cost inside sampling, in-process: {@code streams} greedy random walks of {@code gen}
     * tokens over random logits, each token sampled with the guide and, on the same logits, without;
     * first with an empty mask cache (every state's mask computed on its first visit), then again
     * with the cache filled. Medians over tokens of the per-token difference.
     */
    private static void reportGuideCost(boolean json, PrintStream out, JsonNode schema, Tokenizer tokenizer, int gen, List<Level> levels) {
        Level largest = levels.stream().filter(Level::guided).reduce((x, y) -> y.streams() >= x.streams() ? y : x).orElseThrow();
        int streams = largest.streams();
        Guide guide = Guide.compile(new GuideSpec.JsonSchema(schema));
        TokenVocabulary vocabulary = TokenVocabulary.of(tokenizer);
        List<Double> cold = guideWalks(guide, vocabulary, tokenizer.size(), streams, gen);
        List<Double> warm = guideWalks(guide, vocabulary, tokenizer.size(), streams, gen);
        double step = largest.itlP50();
        double perStep = median(warm) * streams;
        if (json) {
            ObjectNode o = Json.MAPPER.createObjectNode().put("guide_states", guide.stateCount())
                    .put("mask_us_per_token_cached", median(warm) * 1e6).put("mask_us_per_token_first_pass", median(cold) * 1e6)
                    .put("mask_mean_us_per_token_first_pass", cold.stream().mapToDouble(Double::doubleValue).average().orElse(0) * 1e6)
                    .put("streams", streams).put("mask_share_of_decode_step", perStep / step);
            out.println(Json.write(o));
            return;
        }
        out.printf("guide: %d DFA states; vocabulary %d tokens%n", guide.stateCount(), tokenizer.size());
        out.printf("mask cost per sampled token (guided - plain sampling, median): %.1f µs with masks cached, %.1f µs on the first pass "
                        + "(mean %.1f µs, masks computed on first visit)%n", median(warm) * 1e6, median(cold) * 1e6,
                cold.stream().mapToDouble(Double::doubleValue).average().orElse(0) * 1e6);
        out.printf("at %d streams: %.1f µs of masks per decode step = %.2f %% of the guided decode step (ITL p50 %.2f ms)%n", streams,
                perStep * 1e6, 100 * perStep / step, step * 1e3);
    }

    private static List<Double> guideWalks(Guide guide, TokenVocabulary vocabulary, int vocab, int streams, int gen) {
        SplittableRandom random = new SplittableRandom(11);
        List<Double> costs = new ArrayList<>();
        SamplingParams plain = new SamplingParams(0, 0, 1, 0, 1, 0, 0, null, gen, 0, Set.of(), List.of(), Map.of(),
                SamplingParams.NO_LOGPROBS);
        for (int s = 0; s < streams; s++) {
            Sampler guided = new Sampler(plain.withGuide(guide.over(vocabulary)));
            Sampler unguided = new Sampler(plain);
            TokenHistory history = new TokenHistory(new int[] {1});
            for (int t = 0; t < gen && !guided.guideComplete(); t++) {
                float[] logits = new float[vocab];
                for (int i = 0; i < vocab; i++) logits[i] = (float) random.nextGaussian();
                float[] copy = logits.clone();
                long a = System.nanoTime();
                guided.sample(logits, history);
                long b = System.nanoTime();
                unguided.sample(copy, history);
                long c = System.nanoTime();
                costs.add(((b - a) - (c - b)) / 1e9);
            }
        }
        return costs;
    }

    /** Tokens per second of one greedy request through the in-process generator, prefill included. */
    private static double engineRound(LoadedModel engine, Tokenizer tokenizer, int[] prompt, int gen) {
        SamplingParams params = new SamplingParams(0, 0, 1, 0, 1, 0, 0, null, gen, gen, Set.of(), List.of(), Map.of(),
                SamplingParams.NO_LOGPROBS);
        long t0 = System.nanoTime();
        Generation g = new Generator(PooledSequences.onHeap(engine.model()), tokenizer).generate(prompt, params, text -> {});
        return g.generatedIds().length / ((System.nanoTime() - t0) / 1e9);
    }

    private static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static void report(boolean json, PrintStream out, String target, int promptLen, int gen, int rounds, int hidden,
                               List<Double> engine, List<Double> service, List<Level> levels) {
        double ratio = engine.isEmpty() ? Double.NaN : median(service) / median(engine);
        if (json) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("target", target).put("prompt_len", promptLen).put("gen", gen).put("rounds", rounds);
            if (!engine.isEmpty()) {
                o.put("engine_single_tok_s", median(engine)).put("service_single_tok_s", median(service)).put("service_over_engine", ratio);
            }
            ArrayNode arr = o.putArray("levels");
            for (Level l : levels) {
                ObjectNode level = arr.addObject().put("streams", l.streams()).put("json_schema", l.guided()).put("tok_s", median(l.tokPerS())).put("ttft_p50_s", l.ttftP50())
                        .put("ttft_p99_s", l.ttftP99()).put("itl_p50_s", l.itlP50()).put("moe_layers", l.moeLayers())
                        .put("moe_layer_p50_s", l.moeP50()).put("moe_layer_p99_s", l.moeP99());
                ArrayNode roundsTokS = level.putArray("rounds_tok_s");
                l.tokPerS().forEach(roundsTokS::add);
                ArrayNode roundsMoe = level.putArray("rounds_moe_layer_p50_s");
                l.moeP50Rounds().forEach(roundsMoe::add);
                if (l.traffic().messages() > 0) {
                    level.put("dispatch_messages_per_layer", l.traffic().messages() / l.moeLayers())
                            .put("dispatch_bytes_per_layer", l.traffic().bytes() / l.moeLayers())
                            .put("dispatch_bytes_over_bound", l.traffic().bytes() / bound(l.traffic(), hidden));
                }
            }
            out.println(Json.write(o));
            return;
        }
        out.printf("%s, prompts of %d tokens, %d generated tokens each, median of %d rounds%n", target, promptLen, gen, rounds);
        if (!engine.isEmpty()) {
            out.printf("one stream, prefill included: engine %.1f tok/s, HTTP service %.1f tok/s, service/engine %.2f (rounds: %s | %s)%n",
                    median(engine), median(service), ratio, format(engine), format(service));
        }
        out.printf("%8s %7s %12s %14s %14s %14s %18s   %s%n", "streams", "schema", "tok/s", "TTFT p50 (s)", "TTFT p99 (s)", "ITL p50 (ms)",
                "MoE layer p50/p99", "rounds (tok/s)");
        for (Level l : levels) {
            out.printf("%8d %7s %12.1f %14.4f %14.4f %14.2f %18s   %s%n", l.streams(), l.guided() ? "yes" : "no", median(l.tokPerS()), l.ttftP50(), l.ttftP99(),
                    l.itlP50() * 1e3, String.format("%.0f/%.0f µs", l.moeP50() * 1e6, l.moeP99() * 1e6), format(l.tokPerS()));
        }
        for (Level l : levels) {
            Traffic t = l.traffic();
            if (t.messages() == 0) {
                out.printf("%d streams: no dispatch (every expert ran in-process)%n", l.streams());
                continue;
            }
            out.printf("%d streams, per MoE layer: %.2f dispatch messages, %.0f bytes on the wire for %.1f rows; "
                            + "bound 2 × rows × hidden × 2 B = %.0f bytes; ratio %.3f%n", l.streams(), t.messages() / l.moeLayers(),
                    t.bytes() / l.moeLayers(), t.rows() / l.moeLayers(), bound(t, hidden) / l.moeLayers(), t.bytes() / bound(t, hidden));
        }
    }

    /** The bytes budget for this traffic: every row both ways as BF16. */
    private static double bound(Traffic t, int hidden) {
        return 2.0 * t.rows() * hidden * 2;
    }

    private static String format(List<Double> values) {
        return String.join(" ", values.stream().map(v -> String.format("%.1f", v)).toList());
    }

    /** Streams requests to the node over loopback. */
    private static final class Client {
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        private final int port;

        Client(int port) {
            this.port = port;
        }

        void awaitHealthy() {
            for (int i = 0; i < 600; i++) {
                if (get("/health").statusCode() == 200) return;
                sleep();
            }
            throw new IllegalStateException("the node did not become healthy in 60 s");
        }

        /** Runs one stream per prompt at once; returns generated tokens per second of wall time. */
        double round(List<int[]> prompts, int gen, JsonNode schema) {
            long t0 = System.nanoTime();
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int[] p : prompts) {
                ObjectNode body = Json.MAPPER.createObjectNode().put("max_tokens", gen).put("min_tokens", gen).put("temperature", 0)
                        .put("stream", true);
                body.putObject("stream_options").put("include_usage", true);
                if (schema != null) {
                    body.putObject("response_format").put("type", "json_schema").putObject("json_schema").put("name", "bench")
                            .set("schema", schema);
                }
                ArrayNode ids = body.putArray("prompt");
                for (int id : p) ids.add(id);
                all.add(http.sendAsync(HttpRequest.newBuilder(uri("/v1/completions")).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofString()));
            }
            long tokens = 0;
            for (var f : all) {
                HttpResponse<String> r = f.join();
                Matcher m = Pattern.compile("\"completion_tokens\":(\\d+)").matcher(r.body());
                if (r.statusCode() != 200 || !m.find()) throw new IllegalStateException("request failed: " + r.statusCode() + " " + r.body());
                tokens += Long.parseLong(m.group(1));
            }
            return tokens / ((System.nanoTime() - t0) / 1e9);
        }

        /** One scrape of the node's /metrics. */
        MetricsText metrics() {
            return MetricsText.parse(get("/metrics").body());
        }

        private HttpResponse<String> get(String path) {
            try {
                return http.send(HttpRequest.newBuilder(uri(path)).build(), HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                throw new IllegalStateException("GET " + path + ": " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        private URI uri(String path) {
            return URI.create("http://127.0.0.1:" + port + path);
        }

        private static void sleep() {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }
}
