package io.expertmesh.tools;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code mesh soak --duration 30m [--cluster]}: a long, bounded run on loopback of healthy SSE and WebSocket
 * streams plus a mix of bad inputs, against nodes it starts, each in its own JVM so that its RSS is its own;
 * with {@code --cluster}, one expert node is killed with SIGKILL and restarted every {@code --kill-every}.
 * It prints every node's RSS and heap over time and the request counts, then a summary, and fails when a
 * node's RSS grows more than {@code --max-rss-growth} % after warm-up, a healthy stream is lost outside a
 * kill window, any answer breaks the API's contract, or the cluster does not recover from a kill. The rules
 * are in docs/load-tests.md (Soak).
 */
public final class Soak {
    static final Duration MIN_DURATION = Duration.ofSeconds(10);
    static final Duration MAX_DURATION = Duration.ofHours(24);
    private static final Duration DURATION = Duration.ofMinutes(30);
    private static final Duration KILL_EVERY = Duration.ofMinutes(3);
    private static final Duration MIN_SAMPLE_EVERY = Duration.ofSeconds(1);
    private static final Duration MAX_SAMPLE_EVERY = Duration.ofSeconds(10);
    private static final Duration MIN_WARMUP = Duration.ofSeconds(30);
    private static final int STREAMS = 4;
    private static final int MAX_TOKENS = 24;
    private static final int MAX_RSS_GROWTH_PERCENT = 10;
    private static final int THREADS = 1;
    private static final int HEAP_MB = 512;
    /**
     * The default {@code expertmesh.dispatch.layer-deadline}: a MoE layer that began before the experts were back
     * on every expert node may still fail this long after.
     */
    static final Duration KILL_WINDOW_GRACE = Duration.ofSeconds(20);
    /** Kills are scheduled no later than this before the end, so that detection, handover, restart and rejoin fit in the run. */
    static final Duration KILL_TAIL = Duration.ofSeconds(90);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(180);
    private static final Duration HANDOVER_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration REJOIN_TIMEOUT = Duration.ofSeconds(180);
    private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_GRACE = Duration.ofSeconds(60);
    private static final Duration KEYS_TIMEOUT = Duration.ofSeconds(60);
    private static final double MIB = 1 << 20;

    public static final CommandSpec SPEC = CommandSpec.of("soak",
            "Runs SSE and WebSocket streams and bad inputs for a long, bounded time, watching every node's memory; "
                    + "--cluster also kills and restarts an expert node.",
            Option.valued("duration", "D", "30m", "how long the load runs, 10s to 24h (units ms, s, m, h)"),
            Option.flag("cluster", "a 3-node loopback cluster (gateway+attention, two expert nodes) instead of one node"),
            Option.valued("kill-every", "D", "3m", "with --cluster: SIGKILL and restart expert-b this often; at least once, at mid-run"),
            Option.valued("streams", "N", STREAMS, "healthy streams at all times, each alternating SSE and WebSocket"),
            Option.valued("max-tokens", "N", MAX_TOKENS, "max_tokens of each healthy stream"),
            Option.computed("sample-every", "D", () -> "--duration / 20, at least 1s, at most 10s", "how often to print every node's RSS and heap"),
            Option.computed("warmup", "D", () -> "20 % of --duration, at least 30s, at most --duration", "RSS growth is measured from the first sample after this"),
            Option.valued("max-rss-growth", "PCT", MAX_RSS_GROWTH_PERCENT, "fail when a node's RSS grows more than this after warm-up"),
            ModelCommands.MODEL.withHelp("the model the nodes serve"),
            Option.valued("threads", "N", THREADS, "compute threads of each node"),
            Option.valued("heap", "MB", HEAP_MB, "each node's Java heap: -Xms = -Xmx, pre-touched, so that RSS does not follow heap sizing"),
            Option.valued("url", "URL", "none: starts its own nodes", "load this loopback server instead (no memory readings, no kills)"),
            Option.valued("logs", "DIR", "a new mesh-soak-* directory in the temp dir", "where the nodes' logs go"));

    /** The command line, checked. {@code url} is null unless given; then {@code model} is unused. */
    record Settings(Duration duration, boolean cluster, Duration killEvery, int streams, int maxTokens, Duration sampleEvery, Duration warmup,
                    int maxRssGrowthPercent, Path model, int threads, int heapMb, URI url, Path logs) {}

    static Settings settings(String[] argv, Path defaultModel) {
        CliArgs a = CliArgs.parse(SPEC, argv);
        Duration duration = a.duration("duration", DURATION, MIN_DURATION, MAX_DURATION);
        boolean cluster = a.flag("cluster");
        if (!cluster && a.has("kill-every")) throw new UsageException("--kill-every needs --cluster");
        Duration killEvery = a.duration("kill-every", KILL_EVERY, Duration.ofMinutes(1), MAX_DURATION);
        int streams = a.integer("streams", STREAMS, 1, 64);
        int maxTokens = a.integer("max-tokens", MAX_TOKENS, 1, 4096);
        Duration sampleEvery = a.duration("sample-every", clamp(duration.dividedBy(20), MIN_SAMPLE_EVERY, MAX_SAMPLE_EVERY), MIN_SAMPLE_EVERY,
                duration);
        Duration warmup = a.duration("warmup", clamp(duration.dividedBy(5), MIN_WARMUP, duration), Duration.ZERO, duration);
        int maxGrowth = a.integer("max-rss-growth", MAX_RSS_GROWTH_PERCENT, 1, 1000);
        int threads = a.integer("threads", THREADS, 1, 4096);
        int heap = a.integer("heap", HEAP_MB, 128, 1 << 20);
        Path logs = a.has("logs") ? Path.of(a.required("logs")) : null;
        if (!a.has("url")) {
            return new Settings(duration, cluster, killEvery, streams, maxTokens, sampleEvery, warmup, maxGrowth,
                    a.model("model", defaultModel), threads, heap, null, logs);
        }
        for (String serverOption : List.of("model", "threads", "heap", "logs")) {
            if (a.has(serverOption)) throw new UsageException("--" + serverOption + " is for the nodes soak starts; not with --url");
        }
        if (cluster) throw new UsageException("--url and --cluster exclude each other: --cluster starts its own nodes");
        URI url;
        try {
            url = new URI(a.required("url"));
        } catch (URISyntaxException e) {
            throw new UsageException("--url: " + e.getMessage());
        }
        String host = url.getHost();
        if (!"http".equals(url.getScheme()) || host == null || url.getPort() < 0 || !(host.matches("127(\\.\\d{1,3}){3}") || host.equals("[::1]"))) {
            throw new UsageException("--url must be http://127.x.x.x:PORT or http://[::1]:PORT (the soak stays on loopback), got " + url);
        }
        return new Settings(duration, false, killEvery, streams, maxTokens, sampleEvery, warmup, maxGrowth, null, threads, heap,
                url.resolve("/"), null);
    }

    /** {@code d} raised to {@code min}, then lowered to {@code max}. */
    private static Duration clamp(Duration d, Duration min, Duration max) {
        Duration atLeast = d.compareTo(min) < 0 ? min : d;
        return atLeast.compareTo(max) > 0 ? max : atLeast;
    }

    /** When to kill, from the load's start: every {@code every} up to {@link #KILL_TAIL} before the end; at mid-run when none fits. */
    static List<Duration> killTimes(Duration duration, Duration every) {
        List<Duration> times = new ArrayList<>();
        for (Duration at = every; at.compareTo(duration.minus(KILL_TAIL)) <= 0; at = at.plus(every)) times.add(at);
        if (times.isEmpty()) times.add(duration.dividedBy(2));
        return times;
    }

    /** A node's RSS after warm-up: the first sample at or after the warm-up's end, the largest, and the last. */
    record RssGrowth(long firstBytes, long maxBytes, long lastBytes) {
        double percent() {
            return 100.0 * (lastBytes - firstBytes) / firstBytes;
        }

        /** Null when fewer than two samples fall at or after {@code warmupEndNanos}: too short a run to judge. */
        static RssGrowth after(List<SoakNode.Sample> samples, long warmupEndNanos) {
            List<Long> rss = samples.stream().filter(s -> s.atNanos() >= warmupEndNanos).map(s -> s.memory().rssBytes()).toList();
            if (rss.size() < 2) return null;
            return new RssGrowth(rss.getFirst(), rss.stream().mapToLong(Long::longValue).max().orElseThrow(), rss.getLast());
        }
    }

    private final Settings settings;
    private final String meshMainClass;
    private final PrintStream out;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    private final List<SoakNode> nodes = new ArrayList<>();
    private final KillWindows windows = new KillWindows();
    private final List<String> failures = new ArrayList<>();
    private SoakNode expertB;
    private int expertAPort;
    private int expertBPort;
    /** With --cluster: the directory {@code mesh cluster-keys} filled, DIR/NAME per node. */
    private volatile Path clusterKeys;
    private URI url;
    private long startNanos;

    private Soak(Settings settings, String meshMainClass, PrintStream out) {
        this.settings = settings;
        this.meshMainClass = meshMainClass;
        this.out = out;
    }

    /** {@code meshMainClass}: the entry point the nodes run, {@code mesh serve} or {@code mesh node}, in JVMs like this one. */
    public static void run(String[] argv, Path defaultModel, String meshMainClass, PrintStream out) {
        new Soak(settings(argv, defaultModel), meshMainClass, out).soak();
    }

    private void soak() {
        Path logs = settings.url() == null ? logDirectory() : null;
        // Ctrl-C ends the soak's JVM; the nodes it started and their keys must not outlive it.
        Thread cleanUp = new Thread(() -> cleanUp(Duration.ofSeconds(10)));
        Runtime.getRuntime().addShutdownHook(cleanUp);
        SoakTraffic traffic;
        try {
            if (settings.url() != null) {
                url = settings.url();
                awaitHealthy();
            } else {
                out.println("soak: node logs in " + logs);
                startNodes(logs);
            }
            traffic = load();
            // A node that crashed is failure enough; the rest of the cluster need not be waited for.
            if (nodeList().stream().noneMatch(SoakNode::exitedUnexpectedly)) settleCheck();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } finally {
            cleanUp(STOP_GRACE);
            try {
                Runtime.getRuntime().removeShutdownHook(cleanUp);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running already
            }
        }
        List<String> reasons = report(traffic);
        if (!reasons.isEmpty()) {
            throw new IllegalStateException("soak failed: " + String.join("; ", reasons) + (logs == null ? "" : " (node logs in " + logs + ")"));
        }
    }

    private Path logDirectory() {
        try {
            return settings.logs() == null ? Files.createTempDirectory("mesh-soak-") : Files.createDirectories(settings.logs());
        } catch (IOException e) {
            throw new IllegalStateException("cannot create the log directory: " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- nodes

    /**
     * {@code mesh MESH_ARGS} in a new JVM: this JVM's java with the flags every mesh command needs,
     * {@code jvmOptions}, then this JVM's own options (MESH_JAVA_OPTS among them, so they reach the nodes and
     * may override {@code jvmOptions}).
     */
    private List<String> meshCommand(List<String> jvmOptions, List<String> meshArgs) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow(() -> new IllegalStateException("cannot tell which java runs the soak")));
        cmd.addAll(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"));
        cmd.addAll(jvmOptions);
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), meshMainClass));
        cmd.addAll(meshArgs);
        return cmd;
    }

    /**
     * The command line of node {@code name} ({@code mesh serve} or {@code mesh node} with {@code meshArgs}): a fixed,
     * pre-touched heap, the model, the threads, and in a cluster the node's keys. Every node the soak starts, and
     * every restart, is built here, so what all nodes must be given goes in this one place.
     */
    private List<String> nodeCommand(String name, List<String> meshArgs) {
        List<String> args = new ArrayList<>(meshArgs);
        args.addAll(List.of("--model", settings.model().toAbsolutePath().toString(), "--threads", Integer.toString(settings.threads())));
        // mesh serve makes throwaway keys of its own; cluster nodes prove to each other that they hold the soak's.
        if (clusterKeys != null) args.addAll(List.of("--cluster-keys", clusterKeys.resolve(name).toString()));
        return meshCommand(List.of("-Xms" + settings.heapMb() + "m", "-Xmx" + settings.heapMb() + "m", "-XX:+AlwaysPreTouch"), args);
    }

    /** Makes a CA and keys for {@code names} with {@code mesh cluster-keys}, in a private temporary directory that {@link #soak} deletes. */
    private void makeClusterKeys(Path logs, List<String> names) throws InterruptedException {
        Path log = logs.resolve("cluster-keys.log");
        try {
            clusterKeys = Files.createTempDirectory("mesh-soak-keys-");  // mode 700, as a private directory should be
            Process p = new ProcessBuilder(meshCommand(List.of(), List.of("cluster-keys", "--out", clusterKeys.toString(), "--nodes",
                    String.join(",", names)))).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(KEYS_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("mesh cluster-keys did not finish within " + KEYS_TIMEOUT.toSeconds() + " s; its output: " + log);
            }
            if (p.exitValue() != 0) throw new IllegalStateException("mesh cluster-keys failed (exit code " + p.exitValue() + "); its output: " + log);
        } catch (IOException e) {
            throw new IllegalStateException("cannot make cluster keys: " + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            System.err.println("soak: could not delete the cluster keys in " + dir + ": " + e.getMessage());
        }
    }

    private SoakNode startNode(String name, Path logs, String... meshArgs) {
        SoakNode n = SoakNode.start(name, nodeCommand(name, List.of(meshArgs)), logs);
        synchronized (nodes) {
            nodes.add(n);
        }
        out.printf("soak: started %s (pid %d), log %s%n", name, n.pid(), n.log());
        return n;
    }

    private static String address(int clusterPort) {
        return "pekko://expertmesh@127.0.0.1:" + clusterPort;
    }

    private void startNodes(Path logs) throws InterruptedException {
        int http = SoakNode.freePort();
        url = URI.create("http://127.0.0.1:" + http + "/");
        if (!settings.cluster()) {
            startNode("server", logs, "serve", "--port", Integer.toString(http));
            awaitHealthy();
            return;
        }
        makeClusterKeys(logs, List.of("gateway", "expert-a", "expert-b"));
        int seed = SoakNode.freePort();
        expertAPort = SoakNode.freePort();
        expertBPort = SoakNode.freePort();
        String seedNodes = "127.0.0.1:" + seed;
        startNode("gateway", logs, "node", "--roles", "gateway,attention", "--cluster-port", Integer.toString(seed), "--seed-nodes",
                seedNodes, "--http-port", Integer.toString(http));
        startNode("expert-a", logs, "node", "--roles", "expert", "--cluster-port", Integer.toString(expertAPort), "--seed-nodes", seedNodes);
        expertB = startNode("expert-b", logs, "node", "--roles", "expert", "--cluster-port", Integer.toString(expertBPort), "--seed-nodes", seedNodes);
        awaitHealthy();
        if (!awaitPlacement(Set.of(address(expertAPort), address(expertBPort)), READY_TIMEOUT)) {
            throw new IllegalStateException("the experts did not spread over expert-a and expert-b within " + READY_TIMEOUT.toSeconds() + " s; "
                    + "placement: " + expertHosts());
        }
        out.println("soak: cluster ready, experts on expert-a and expert-b");
    }

    private void awaitHealthy() throws InterruptedException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = get("/health");
            if (r != null && r.statusCode() == 200) return;
            for (SoakNode n : nodeList()) {
                if (n.exitedUnexpectedly()) throw new IllegalStateException(n.name + " " + n.exitDescription() + " while starting; its log: " + n.log());
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException(url + "health did not answer 200 within " + READY_TIMEOUT.toSeconds() + " s");
    }

    /** The members that host experts once every expert is placed; empty while one is not. */
    private Set<String> expertHosts() {
        HttpResponse<String> r = get("/cluster");
        if (r == null || r.statusCode() != 200) return Set.of();
        JsonNode placement;
        try {
            placement = Json.MAPPER.readTree(r.body()).path("placement");
        } catch (IOException e) {
            return Set.of();
        }
        Set<String> hosts = new HashSet<>();
        for (JsonNode host : placement) {
            if (!host.isTextual()) return Set.of();
            hosts.add(host.asText());
        }
        return hosts;
    }

    private boolean awaitPlacement(Set<String> hosts, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (expertHosts().equals(hosts)) return true;
            Thread.sleep(200);
        }
        return false;
    }

    private List<SoakNode> nodeList() {
        synchronized (nodes) {
            return List.copyOf(nodes);
        }
    }

    /** Stops every node (SIGKILL to those still there after {@code grace}) and deletes the cluster keys. */
    private void cleanUp(Duration grace) {
        stopNodes(grace);
        if (clusterKeys != null) deleteTree(clusterKeys);
    }

    /** SIGTERM to every node, then SIGKILL to those still there after {@code grace}. */
    private void stopNodes(Duration grace) {
        List<SoakNode> all = nodeList();
        for (SoakNode n : all) n.terminate();
        long deadline = System.nanoTime() + grace.toNanos();
        try {
            for (SoakNode n : all) n.awaitExitOrKill(deadline);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private HttpResponse<String> get(String path) {
        try {
            return http.send(HttpRequest.newBuilder(url.resolve(path)).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private synchronized void fail(String reason) {
        failures.add(reason);
        out.println("soak: FAILURE: " + reason);
    }

    private synchronized List<String> failures() {
        return List.copyOf(failures);
    }

    // ---------------------------------------------------------------- the run

    private SoakTraffic load() throws InterruptedException {
        Duration d = settings.duration();
        out.printf("soak: %d healthy streams (SSE and WebSocket) and bad inputs for %s; memory every %s; RSS growth judged after %s of warm-up "
                        + "(limit %d %%)%n", settings.streams(), Progress.duration(d.toMillis() / 1e3), Progress.duration(settings.sampleEvery().toMillis() / 1e3),
                Progress.duration(settings.warmup().toMillis() / 1e3), settings.maxRssGrowthPercent());
        startNanos = System.nanoTime();
        long endNanos = startNanos + d.toNanos();
        SoakTraffic traffic = new SoakTraffic(url, settings.maxTokens(), windows, startNanos, d);
        traffic.start(settings.streams());
        Thread killer = null;
        if (settings.cluster()) {
            List<Duration> times = killTimes(d, settings.killEvery());
            out.println("soak: kills expert-b at " + times.stream().map(t -> Progress.duration(t.toMillis() / 1e3)).collect(Collectors.joining(", ")));
            killer = Thread.ofPlatform().name("soak-killer").start(() -> killCycles(times, traffic));
        }
        for (long at = startNanos + settings.sampleEvery().toNanos(); ; at = Math.min(endNanos, at + settings.sampleEvery().toNanos())) {
            long wait = at - System.nanoTime();
            if (wait > 0) Thread.sleep(Duration.ofNanos(wait));
            sampleLine(traffic, at);
            if (crashed()) {
                traffic.stopEarly();
                break;
            }
            if (at >= endNanos) break;
        }
        traffic.awaitEnd();
        if (killer != null) {
            killer.join(HANDOVER_TIMEOUT.plus(REJOIN_TIMEOUT).plusSeconds(30));
            if (killer.isAlive()) {
                killer.interrupt();
                fail("the kill cycle did not end");
            }
        }
        return traffic;
    }

    /** Records any node that went down without being killed; true when one did, which ends the load. */
    private boolean crashed() {
        boolean any = false;
        for (SoakNode n : nodeList()) {
            if (n.exitedUnexpectedly()) {
                fail(n.name + " (pid " + n.pid() + ") " + n.exitDescription() + " during the load; its log: " + n.log());
                any = true;
            }
        }
        return any;
    }

    private void sampleLine(SoakTraffic traffic, long at) {
        double elapsed = (at - startNanos) / 1e9;
        double total = settings.duration().toMillis() / 1e3;
        StringBuilder line = new StringBuilder(String.format("[%s of %s%s%s]", Progress.duration(elapsed), Progress.duration(total),
                elapsed < total ? ", ETA " + Progress.duration(total - elapsed) : "", at - startNanos < settings.warmup().toNanos() ? ", warm-up" : ""));
        line.append(String.format(" streams ok %d ko %d lost %d (+%d in kill windows) | bad inputs ok %d ko %d |", traffic.healthy(SoakTraffic.Result.OK),
                traffic.healthy(SoakTraffic.Result.KO), traffic.healthy(SoakTraffic.Result.LOST), traffic.healthy(SoakTraffic.Result.LOST_IN_KILL_WINDOW),
                traffic.count(SoakTraffic.Kind.BAD_INPUT, SoakTraffic.Result.OK), traffic.count(SoakTraffic.Kind.BAD_INPUT, SoakTraffic.Result.KO)
                        + traffic.count(SoakTraffic.Kind.BAD_INPUT, SoakTraffic.Result.LOST)));
        if (nodeList().isEmpty()) line.append(" memory not read (--url)");
        for (SoakNode n : nodeList()) {
            SoakNode.Sample s = n.sample(at);
            if (s == null) {
                line.append(' ').append(n.name).append(" down");
                continue;
            }
            line.append(String.format(" %s %.0f MiB", n.name, s.memory().rssBytes() / MIB));
            ProcessMemory.Heap h = s.memory().heap();
            line.append(h == null ? " heap ?" : String.format(" heap %.0f/%.0f", h.usedBytes() / MIB, h.committedBytes() / MIB));
        }
        out.println(line);
    }

    /** Kills expert-b at each time, waits for its experts to move to expert-a, restarts it and waits for them to spread again. */
    private void killCycles(List<Duration> times, SoakTraffic traffic) {
        Set<String> survivors = Set.of(address(expertAPort));
        Set<String> both = Set.of(address(expertAPort), address(expertBPort));
        try {
            for (int k = 0; k < times.size(); k++) {
                long at = startNanos + times.get(k).toNanos();
                while (System.nanoTime() < at) {
                    if (!traffic.loadRunning()) return;
                    Thread.sleep(Math.max(1, Math.min(at - System.nanoTime(), 1_000_000_000L) / 1_000_000));
                }
                if (!traffic.loadRunning()) return;
                long killed = System.nanoTime();
                int window = windows.open(killed);
                long pid = expertB.pid();
                expertB.kill();
                out.printf("soak: %s kill %d of %d: SIGKILL to expert-b (pid %d)%n", stamp(killed), k + 1, times.size(), pid);
                if (!awaitPlacement(survivors, HANDOVER_TIMEOUT)) {
                    fail("the experts did not all move to expert-a within " + HANDOVER_TIMEOUT.toSeconds() + " s of the kill; placement: " + expertHosts());
                    return;
                }
                double handover = (System.nanoTime() - killed) / 1e9;
                expertB.restart();
                if (!awaitPlacement(both, REJOIN_TIMEOUT)) {
                    fail("the experts did not spread over expert-a and the restarted expert-b within " + REJOIN_TIMEOUT.toSeconds() + " s; placement: "
                            + expertHosts() + "; its log: " + expertB.log());
                    return;
                }
                long restored = System.nanoTime();
                windows.close(window, restored + KILL_WINDOW_GRACE.toNanos());
                out.printf("soak: %s experts on expert-a alone %.1f s after the kill; expert-b restarted (pid %d); experts on both expert nodes "
                                + "%.1f s after the kill; this kill window ends %s%n", stamp(restored), handover, expertB.pid(),
                        (restored - killed) / 1e9, stamp(restored + KILL_WINDOW_GRACE.toNanos()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            fail("the kill cycle failed: " + e.getMessage());
        }
    }

    private String stamp(long nanos) {
        return "[" + Progress.duration((nanos - startNanos) / 1e9) + "]";
    }

    /** After the load, the server must come back to rest: nothing running or waiting, no KV block in use. */
    private void settleCheck() throws InterruptedException {
        long deadline = System.nanoTime() + SETTLE_TIMEOUT.toNanos();
        String last = "no /metrics";
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = get("/metrics");
            if (r != null && r.statusCode() == 200) {
                MetricsText m = MetricsText.parse(r.body());
                double running = m.value("mesh:num_requests_running");
                double waiting = m.value("mesh:num_requests_waiting");
                double kv = m.value("mesh:kv_cache_usage_perc");
                if (running == 0 && waiting == 0 && kv == 0) return;
                last = String.format("running %s, waiting %s, KV cache in use %s", running, waiting, kv);
            }
            Thread.sleep(500);
        }
        fail("the server did not come to rest within " + SETTLE_TIMEOUT.toSeconds() + " s of the load's end: " + last);
    }

    // ---------------------------------------------------------------- summary

    /** Prints the summary and returns why the soak failed; empty when it passed. */
    private List<String> report(SoakTraffic traffic) {
        List<String> reasons = new ArrayList<>(failures());
        long warmupEnd = startNanos + settings.warmup().toNanos();
        out.println();
        out.printf("memory (RSS in MiB; growth = last / first sample after the %s warm-up - 1; limit %d %%):%n",
                Progress.duration(settings.warmup().toMillis() / 1e3), settings.maxRssGrowthPercent());
        out.printf("  %-9s %-14s %8s %8s %8s %8s  %-16s  %s%n", "node", "pid", "first", "max", "last", "growth", "heap used/comm.", "verdict");
        if (nodeList().isEmpty()) out.println("  not measured: --url names a server the soak did not start");
        for (SoakNode n : nodeList()) {
            List<SoakNode.Sample> samples = n.samples();
            List<SoakNode.Sample> current = samples.stream().filter(s -> s.incarnation() == n.incarnation()).toList();
            RssGrowth g = RssGrowth.after(current, n.incarnation() == 1 ? warmupEnd : Long.MIN_VALUE);
            ProcessMemory.Heap heap = current.isEmpty() ? null : current.getLast().memory().heap();
            String pids = samples.stream().map(s -> Long.toString(s.pid())).distinct().collect(Collectors.joining(","));
            String verdict;
            if (n.incarnation() > 1) {
                verdict = "restarted " + (n.incarnation() - 1) + "x: not judged (RSS of its last incarnation, from its start)";
            } else if (g == null) {
                verdict = "not judged: fewer than 2 samples after warm-up";
            } else if (g.percent() > settings.maxRssGrowthPercent()) {
                verdict = "FAIL";
                reasons.add(String.format("RSS of %s grew %.1f %% after warm-up (%.0f -> %.0f MiB; limit %d %%)", n.name, g.percent(),
                        g.firstBytes() / MIB, g.lastBytes() / MIB, settings.maxRssGrowthPercent()));
            } else {
                verdict = "ok";
            }
            out.printf("  %-9s %-14s %8s %8s %8s %8s  %-16s  %s%n", n.name, pids, g == null ? "-" : String.format("%.0f", g.firstBytes() / MIB),
                    g == null ? "-" : String.format("%.0f", g.maxBytes() / MIB), g == null ? "-" : String.format("%.0f", g.lastBytes() / MIB),
                    g == null || n.incarnation() > 1 ? "-" : String.format("%+.1f %%", g.percent()),
                    heap == null ? "?" : String.format("%.0f/%.0f", heap.usedBytes() / MIB, heap.committedBytes() / MIB), verdict);
        }
        SoakTraffic.Result ok = SoakTraffic.Result.OK;
        SoakTraffic.Result ko = SoakTraffic.Result.KO;
        SoakTraffic.Result lost = SoakTraffic.Result.LOST;
        SoakTraffic.Result inWindow = SoakTraffic.Result.LOST_IN_KILL_WINDOW;
        SoakTraffic.Kind bad = SoakTraffic.Kind.BAD_INPUT;
        out.printf("healthy streams: %d OK (SSE %d, WebSocket %d), %d KO, %d lost outside kill windows, %d lost inside%n", traffic.healthy(ok),
                traffic.count(SoakTraffic.Kind.SSE, ok), traffic.count(SoakTraffic.Kind.WEBSOCKET, ok), traffic.healthy(ko), traffic.healthy(lost),
                traffic.healthy(inWindow));
        if (settings.cluster()) out.println("kill windows (s from the load's start): " + String.join(", ", windows.describe(startNanos)));
        out.printf("bad inputs: %d answered as documented, %d KO, %d lost outside kill windows, %d lost inside%n", traffic.count(bad, ok),
                traffic.count(bad, ko), traffic.count(bad, lost), traffic.count(bad, inWindow));
        out.println("  per case: " + traffic.badInputOk().entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", ")));
        if (traffic.failureCount() > 0) {
            out.printf("failures (first %d of %d):%n", traffic.failures().size(), traffic.failureCount());
            for (SoakTraffic.Failure f : traffic.failures()) {
                out.printf("  %7.1f s  %-9s %-19s %s%n", f.atSeconds(), f.kind(), f.result(), f.detail());
            }
        }
        if (traffic.healthy(ko) > 0) reasons.add(traffic.healthy(ko) + " healthy streams broke the streaming contract");
        if (traffic.healthy(lost) > 0) reasons.add(traffic.healthy(lost) + " healthy streams lost outside kill windows");
        if (traffic.count(bad, ko) + traffic.count(bad, lost) > 0) {
            reasons.add((traffic.count(bad, ko) + traffic.count(bad, lost)) + " bad inputs got an unexpected answer");
        }
        if (traffic.healthy(ok) == 0) reasons.add("no healthy stream completed");
        out.println(reasons.isEmpty() ? "RESULT: PASS" : "RESULT: FAIL");
        for (String r : reasons) out.println("  " + r);
        return reasons;
    }
}
