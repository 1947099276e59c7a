package io.expertmesh.loadtests;

import io.expertmesh.tools.MetricsText;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The one-screen summary of a load-test run, from three sources, each named in the output:
 * Gatling's {@code simulation.log} (completions OK/KO, time to first token), the simulation's client
 * statistics (gaps between text chunks, tokens from the usage chunks) and two scrapes of the server's
 * {@code /metrics} around the run (its TTFT and inter-token histograms, tokens generated).
 *
 * <pre>
 * java -cp load-tests/target/classes:cluster-config/target/mesh.jar io.expertmesh.loadtests.LoadSummary \
 *     --results load-tests/target/gatling --client load-tests/target/loadtest-client-stats.json \
 *     [--metrics-before F --metrics-after F] [--target TEXT]
 * </pre>
 * (mesh.jar's manifest names the runtime jars in lib/, tools with its /metrics reader among them.)
 * Exits 0 when the run passed (KO within the allowance, every completion finished, p99 TTFT below the bound),
 * 1 when it did not, 2 when its inputs are missing.
 */
public final class LoadSummary {
    static final List<String> SSE_REQUEST = List.of("sse request");
    static final List<String> SSE_TTFT = List.of("sse request", "sse ttft");
    static final List<String> WS_REQUEST = List.of("ws request");
    static final String WS_TTFT = "ws ttft";

    /** What was read, and the verdict. */
    record Result(List<String> lines, boolean passed) {}

    public static void main(String[] args) {
        Path results = null, log = null, client = null, before = null, after = null;
        String target = null, gatlingStatus = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--results" -> results = Path.of(need(a, v));
                case "--log" -> log = Path.of(need(a, v));
                case "--client" -> client = Path.of(need(a, v));
                case "--metrics-before" -> before = Path.of(need(a, v));
                case "--metrics-after" -> after = Path.of(need(a, v));
                case "--target" -> target = need(a, v);
                case "--gatling-status" -> gatlingStatus = need(a, v);
                default -> {
                    System.err.println("loadtest summary: unknown option " + a);
                    System.exit(2);
                }
            }
            i++;
        }
        try {
            if (log == null) {
                if (results == null) throw new IOException("give --log FILE or --results DIR");
                log = newestLog(results);
            }
            SimulationLog sim = SimulationLog.read(log);
            ClientStats stats = client != null && Files.exists(client) ? ClientStats.read(client) : null;
            MetricsText mb = before != null && Files.exists(before) ? MetricsText.parse(Files.readString(before)) : null;
            MetricsText ma = after != null && Files.exists(after) ? MetricsText.parse(Files.readString(after)) : null;
            Result r = summarise(sim, log, stats, mb, ma, target, gatlingStatus);
            r.lines().forEach(System.out::println);
            System.exit(r.passed() ? 0 : 1);
        } catch (IOException | RuntimeException e) {
            System.err.println("loadtest summary: " + e.getMessage());
            System.exit(2);
        }
    }

    private static String need(String option, String value) {
        if (value == null) throw new IllegalArgumentException(option + " needs a value");
        return value;
    }

    /** The simulation.log of the most recent run under a Gatling results folder. */
    static Path newestLog(Path results) throws IOException {
        try (Stream<Path> dirs = Files.list(results)) {
            return dirs.map(d -> d.resolve("simulation.log")).filter(Files::isRegularFile)
                    .max(Comparator.comparing(p -> {
                        try {
                            return Files.getLastModifiedTime(p);
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }))
                    .orElseThrow(() -> new IOException("no simulation.log under " + results));
        }
    }

    static Result summarise(SimulationLog sim, Path log, ClientStats client, MetricsText before, MetricsText after,
                            String target, String gatlingStatus) {
        List<String> out = new ArrayList<>();
        Map<String, Object> params = client != null ? client.params : Map.of();
        long ttftBound = params.get("ttftP99Ms") instanceof Number n ? n.longValue() : 1000;
        long maxKo = params.get("maxKo") instanceof Number n ? n.longValue() : 0;
        double windowS = Math.max(1, sim.lastEventOffset) / 1000.0;

        out.add("ExpertMesh load test: " + (params.get("describe") instanceof String d ? d : sim.simulationClass));
        if (target != null) out.add("target:  " + target);
        Path dir = log.toAbsolutePath().getParent();
        out.add("report:  " + dir.resolve("index.html") + "  (Gatling " + sim.gatlingVersion + ", ran " + f1(windowS) + " s)");
        out.add("");

        // Completions, from Gatling's group records; KO also counts failed requests outside them.
        List<SimulationLog.Group> sseReq = sim.groups(SSE_REQUEST);
        List<SimulationLog.Group> wsReq = sim.groups(WS_REQUEST);
        long sseOk = sseReq.stream().filter(SimulationLog.Group::ok).count();
        long wsOk = wsReq.stream().filter(SimulationLog.Group::ok).count();
        long completionsKo = (sseReq.size() - sseOk) + (wsReq.size() - wsOk);
        long requestsOk = sim.requests.stream().filter(SimulationLog.Request::ok).count();
        long requestsKo = sim.requests.size() - requestsOk;
        long unfinished = 0;
        if (client != null) {
            unfinished = (client.sse.started.get() - client.sse.finished()) + (client.ws.started.get() - client.ws.finished());
        }
        out.add("completions      OK     KO  cancelled   [Gatling simulation.log: groups 'sse request' / 'ws request']");
        if (!sseReq.isEmpty() || (client != null && client.sse.started.get() > 0)) {
            out.add(String.format(Locale.ROOT, "  sse       %8d %6d  %9s", sseOk, sseReq.size() - sseOk, "-"));
        }
        if (!wsReq.isEmpty() || (client != null && client.ws.started.get() > 0)) {
            out.add(String.format(Locale.ROOT, "  ws        %8d %6d  %9s", wsOk, wsReq.size() - wsOk,
                    client != null ? Long.toString(client.ws.cancelled.get()) : "?"));
        }
        out.add(String.format(Locale.ROOT, "  Gatling requests and checks: %d OK, %d KO%s", requestsOk, requestsKo,
                unfinished > 0 ? "; " + unfinished + " completions never finished" : ""));

        // Time to first token.
        out.add("");
        out.add("TTFT ms          p50    p95    p99    max      n");
        MsHistogram sseTtft = new MsHistogram();
        sim.groups(SSE_TTFT).forEach(g -> sseTtft.add(g.cumulated()));
        MsHistogram wsTtft = new MsHistogram();
        sim.requests(WS_REQUEST, WS_TTFT).forEach(r -> wsTtft.add(r.responseTime()));
        boolean ttftOk = true;
        List<String> ttftVerdicts = new ArrayList<>();
        if (sseTtft.count() > 0) {
            out.add(row("  sse", sseTtft) + "   [Gatling: group 'sse ttft' = POST sent to first text chunk]");
            ttftOk &= sseTtft.percentile(99) < ttftBound;
            ttftVerdicts.add("sse " + sseTtft.percentile(99));
        }
        if (wsTtft.count() > 0) {
            out.add(row("  ws", wsTtft) + "   [Gatling: check 'ws ttft' = frame sent to first text chunk]");
            ttftOk &= wsTtft.percentile(99) < ttftBound;
            ttftVerdicts.add("ws " + wsTtft.percentile(99));
        }
        MetricsText.Histogram serverTtft = after != null ? MetricsText.Histogram.delta(before, after, "mesh:time_to_first_token_seconds") : null;
        if (serverTtft != null && !serverTtft.isEmpty()) {
            out.add(String.format(Locale.ROOT, "  server %6s %6s %6s %6s %6d   [/metrics mesh:time_to_first_token_seconds, interpolated in buckets]",
                    q(serverTtft, 0.5), q(serverTtft, 0.95), q(serverTtft, 0.99), "-", Math.round(serverTtft.observations())));
        } else {
            out.add("  server: not scraped" + (after == null ? " (--url given without /metrics, or scrape failed)" : ""));
        }

        // Inter-token latency.
        out.add("");
        out.add("inter-token ms   p50    p99    max      n");
        if (client != null) {
            MsHistogram gaps = new MsHistogram();
            gaps.addAll(client.sse.gaps);
            gaps.addAll(client.ws.gaps);
            if (gaps.count() > 0) {
                out.add(String.format(Locale.ROOT, "  client %6d %6d %6d %6d   [gaps between text chunks, Gatling's arrival stamps, 1 ms resolution]",
                        gaps.percentile(50), gaps.percentile(99), gaps.max(), gaps.count()));
            } else {
                out.add("  client: no stream had two text chunks");
            }
        } else {
            out.add("  client: no client statistics file");
        }
        MetricsText.Histogram serverItl = after != null ? MetricsText.Histogram.delta(before, after, "mesh:inter_token_latency_seconds") : null;
        if (serverItl != null && !serverItl.isEmpty()) {
            out.add(String.format(Locale.ROOT, "  server %6s %6s %6s %6d   [/metrics mesh:inter_token_latency_seconds]",
                    q(serverItl, 0.5), q(serverItl, 0.99), "-", Math.round(serverItl.observations())));
        }

        // Throughput.
        out.add("");
        StringBuilder tput = new StringBuilder(String.format(Locale.ROOT, "tokens/s over the %s s run:", f1(windowS)));
        if (client != null) {
            long tokens = client.sse.tokens.get() + client.ws.tokens.get();
            tput.append(String.format(Locale.ROOT, " client %s (%d tokens: usage.completion_tokens, text chunks of cancelled requests)",
                    f1(tokens / windowS), tokens));
        }
        out.add(tput.toString());
        if (after != null) {
            double gen = MetricsText.increase(before, after, "mesh:generation_tokens_total");
            double pre = MetricsText.increase(before, after, "mesh:num_preemptions_total");
            out.add(String.format(Locale.ROOT, "                         server %s (%d tokens: mesh:generation_tokens_total); preemptions %d",
                    f1(gen / windowS), Math.round(gen), Math.round(pre)));
        }

        // Errors, briefly: Gatling's messages of failed requests and checks, then the client's own checks.
        List<String> errs = new ArrayList<>();
        sim.requests.stream().filter(r -> !r.ok())
                .collect(java.util.stream.Collectors.groupingBy(r -> r.name() + ": " + withoutIds(r.message()), java.util.TreeMap::new,
                        java.util.stream.Collectors.counting()))
                .entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(e -> errs.add("x" + e.getValue() + " " + e.getKey()));
        if (client != null) {
            client.sse.errors().forEach((k, v) -> {
                if (!k.equals(ClientStats.GATLING_KO)) errs.add("x" + v + " sse check: " + k);
            });
            client.ws.errors().forEach((k, v) -> {
                if (!k.equals(ClientStats.GATLING_KO)) errs.add("x" + v + " ws check: " + k);
            });
        }
        if (!errs.isEmpty()) {
            out.add("");
            out.add("errors (Gatling's KO messages from simulation.log, then the client's chunk checks):");
            errs.stream().limit(4).forEach(e -> out.add("  " + StreamValidator.abbreviate(e)));
            if (errs.size() > 4) out.add("  ... " + (errs.size() - 4) + " more kinds (see the report)");
        }

        // Verdict.
        long ko = Math.max(requestsKo, completionsKo) + unfinished;
        boolean koOk = ko <= maxKo && (sseReq.size() + wsReq.size()) > 0;
        boolean passed = koOk && ttftOk;
        out.add("");
        out.add(String.format(Locale.ROOT, "assertions: KO %d <= %d %s; p99 TTFT %s < %d ms %s%s",
                ko, maxKo, koOk ? "ok" : "FAILED", String.join(", ", ttftVerdicts), ttftBound, ttftOk ? "ok" : "FAILED",
                gatlingStatus != null ? "; Gatling's assertions: " + gatlingStatus : ""));
        out.add("RESULT: " + (passed ? "PASS" : "FAIL"));
        return new Result(out, passed);
    }

    /** Groups messages that differ only in a WebSocket request id ({@code "id":"u12-0"}). */
    static String withoutIds(String message) {
        return message.replaceAll("\"id\":\"[^\"]*\"", "\"id\":\"...\"");
    }

    private static String row(String label, MsHistogram h) {
        return String.format(Locale.ROOT, "%-8s %6d %6d %6d %6d %6d", label, h.percentile(50), h.percentile(95), h.percentile(99), h.max(), h.count());
    }

    /** A server quantile in ms, "~" marking interpolation, ">" when it lies past the last finite bucket. */
    private static String q(MetricsText.Histogram h, double quantile) {
        double v = h.quantile(quantile) * 1000;
        if (Double.isNaN(v)) return "-";
        return (h.beyondLastBound(quantile) ? ">" : "~") + Math.round(v);
    }

    private static String f1(double d) {
        return String.format(Locale.ROOT, "%.1f", d);
    }

    static void print(Result r, PrintStream out) {
        r.lines().forEach(out::println);
    }
}
