package io.expertmesh.loadtests;

import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The load test's parameters, read from {@code loadtest.*} system properties (the runner passes its options
 * as {@code -Dloadtest.users=8} and so on). The defaults run about 30 s of mixed SSE and WebSocket traffic
 * from 4 concurrent users.
 *
 * <pre>
 * loadtest.baseUrl      http://127.0.0.1:8080   server under test; must be a loopback IP (127.x.x.x, [::1])
 * loadtest.scenario     mixed                   sse | ws | mixed (half the users or rate each)
 * loadtest.users        4                       closed model: this many concurrent users
 * loadtest.rate         0                       open model when &gt; 0: completions started per second
 * loadtest.duration     30s                     how long users are injected (ms, s, m)
 * loadtest.promptWords  8-64                    prompt length in words, uniform in the range
 * loadtest.maxTokens    16-64                   max_tokens, uniform in the range
 * loadtest.ttftP99Ms    1000                    the run fails if p99 time to first token is not below this
 * loadtest.maxKo        0                       the run fails with more failed requests than this
 * loadtest.wsRequestsPerSocket 3                completions per WebSocket, one after another
 * loadtest.wsCancelPercent     20               share of WebSocket completions cancelled after their first token
 * loadtest.cancelTokens 512                     max_tokens = min_tokens of a request that will be cancelled
 * loadtest.timeout      60s                     longest wait for any one message
 * loadtest.seed         42                      prompts and lengths are drawn from this seed
 * loadtest.clientStats  target/loadtest-client-stats.json   where the client-side numbers go
 * </pre>
 */
public record LoadParams(
        URI baseUrl,
        String scenario,
        int users,
        double rate,
        Duration duration,
        int promptWordsMin,
        int promptWordsMax,
        int maxTokensMin,
        int maxTokensMax,
        long ttftP99Ms,
        long maxKo,
        int wsRequestsPerSocket,
        int wsCancelPercent,
        int cancelTokens,
        Duration timeout,
        long seed,
        String clientStats) {

    public static final String PREFIX = "loadtest.";
    private static final Set<String> KNOWN = Set.of("baseUrl", "scenario", "users", "rate", "duration", "promptWords",
            "maxTokens", "ttftP99Ms", "maxKo", "wsRequestsPerSocket", "wsCancelPercent", "cancelTokens", "timeout", "seed",
            "clientStats");

    public static LoadParams fromSystemProperties() {
        Map<String, String> m = new LinkedHashMap<>();
        System.getProperties().forEach((k, v) -> m.put(String.valueOf(k), String.valueOf(v)));
        return from(m);
    }

    /** Reads the {@code loadtest.*} entries of {@code props}; unknown {@code loadtest.*} keys are refused. */
    public static LoadParams from(Map<String, String> props) {
        for (String k : props.keySet()) {
            if (k.startsWith(PREFIX) && !KNOWN.contains(k.substring(PREFIX.length()))) {
                throw new IllegalArgumentException("unknown parameter " + k + " (known: " + KNOWN + ")");
            }
        }
        Function<String, String> get = k -> {
            String v = props.get(PREFIX + k);
            return v == null || v.isBlank() ? null : v.trim();
        };
        URI base = loopbackUrl(or(get.apply("baseUrl"), "http://127.0.0.1:8080"));
        String scenario = or(get.apply("scenario"), "mixed").toLowerCase(Locale.ROOT);
        if (!Set.of("sse", "ws", "mixed").contains(scenario)) throw bad("scenario", scenario, "sse, ws or mixed");
        int users = intIn("users", or(get.apply("users"), "4"), 0, 10_000);
        double rate = doubleIn("rate", or(get.apply("rate"), "0"), 0, 10_000);
        if (rate == 0 && users == 0) throw new IllegalArgumentException("loadtest.users and loadtest.rate are both 0: nothing to run");
        Duration duration = duration("duration", or(get.apply("duration"), "30s"));
        if (duration.isZero() || duration.compareTo(Duration.ofHours(24)) > 0) throw bad("duration", duration.toString(), "between 1 ms and 24 h");
        int[] words = range("promptWords", or(get.apply("promptWords"), "8-64"), 1, 20_000);
        int[] tokens = range("maxTokens", or(get.apply("maxTokens"), "16-64"), 1, 32_768);
        long ttft = longIn("ttftP99Ms", or(get.apply("ttftP99Ms"), "1000"), 1, 3_600_000);
        long maxKo = longIn("maxKo", or(get.apply("maxKo"), "0"), 0, Long.MAX_VALUE);
        int perSocket = intIn("wsRequestsPerSocket", or(get.apply("wsRequestsPerSocket"), "3"), 1, 1000);
        int cancel = intIn("wsCancelPercent", or(get.apply("wsCancelPercent"), "20"), 0, 100);
        int cancelTokens = intIn("cancelTokens", or(get.apply("cancelTokens"), "512"), 16, 32_768);
        Duration timeout = duration("timeout", or(get.apply("timeout"), "60s"));
        if (timeout.isZero()) throw bad("timeout", "0", "a positive duration");
        long seed = longIn("seed", or(get.apply("seed"), "42"), Long.MIN_VALUE, Long.MAX_VALUE);
        String stats = or(get.apply("clientStats"), "target/loadtest-client-stats.json");
        return new LoadParams(base, scenario, users, rate, duration, words[0], words[1], tokens[0], tokens[1], ttft, maxKo,
                perSocket, cancel, cancelTokens, timeout, seed, stats);
    }

    public boolean openModel() {
        return rate > 0;
    }

    public boolean runsSse() {
        return !scenario.equals("ws");
    }

    public boolean runsWs() {
        return !scenario.equals("sse");
    }

    /** Closed model: concurrent SSE users (the larger half in the mixed scenario). */
    public int sseUsers() {
        return switch (scenario) {
            case "sse" -> users;
            case "ws" -> 0;
            default -> (users + 1) / 2;
        };
    }

    /** Closed model: concurrent WebSocket users, each one socket. */
    public int wsUsers() {
        return users - sseUsers();
    }

    /** Open model: SSE completions started per second. */
    public double sseRate() {
        return switch (scenario) {
            case "sse" -> rate;
            case "ws" -> 0;
            default -> rate / 2;
        };
    }

    /** Open model: WebSocket completions started per second (sockets per second times requests per socket). */
    public double wsRate() {
        return rate - sseRate();
    }

    /** A bound on the whole run: injection, then time for the last users to finish their requests. */
    public Duration maxDuration() {
        return duration.plus(timeout.multipliedBy(2L + wsRequestsPerSocket));
    }

    /** The ws:// base of {@link #baseUrl}. */
    public String wsBaseUrl() {
        String s = baseUrl.toString();
        return (s.startsWith("https:") ? "wss:" + s.substring(6) : "ws:" + s.substring(5));
    }

    /** A one-line description for logs and the summary. */
    public String describe() {
        String load = openModel()
                ? String.format(Locale.ROOT, "open model, %s completions/s", fmt(rate))
                : "closed model, " + users + " concurrent user" + (users == 1 ? "" : "s");
        if (scenario.equals("mixed")) {
            load += openModel()
                    ? String.format(Locale.ROOT, " (sse %s/s + ws %s/s)", fmt(sseRate()), fmt(wsRate()))
                    : " (" + sseUsers() + " sse + " + wsUsers() + " ws)";
        }
        return String.format(Locale.ROOT, "scenario %s, %s, %s; prompts %d-%d words, max_tokens %d-%d, temperature 0",
                scenario, load, human(duration), promptWordsMin, promptWordsMax, maxTokensMin, maxTokensMax);
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("baseUrl", baseUrl.toString());
        m.put("scenario", scenario);
        m.put("users", users);
        m.put("rate", rate);
        m.put("durationMs", duration.toMillis());
        m.put("promptWords", promptWordsMin + "-" + promptWordsMax);
        m.put("maxTokens", maxTokensMin + "-" + maxTokensMax);
        m.put("ttftP99Ms", ttftP99Ms);
        m.put("maxKo", maxKo);
        m.put("wsRequestsPerSocket", wsRequestsPerSocket);
        m.put("wsCancelPercent", wsCancelPercent);
        m.put("describe", describe());
        return m;
    }

    static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : String.format(Locale.ROOT, "%.3g", d);
    }

    static String human(Duration d) {
        long ms = d.toMillis();
        if (ms % 60_000 == 0) return ms / 60_000 + " min";
        if (ms % 1000 == 0) return ms / 1000 + " s";
        return ms + " ms";
    }

    /**
     * Accepts http(s) URLs whose host is a loopback IP literal (127.x.x.x or [::1]): the test never leaves the
     * machine, and no name is ever resolved.
     */
    static URI loopbackUrl(String url) {
        URI u;
        try {
            u = URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
        } catch (IllegalArgumentException e) {
            throw bad("baseUrl", url, "a URL such as http://127.0.0.1:8080");
        }
        if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) throw bad("baseUrl", url, "an http:// or https:// URL");
        String host = u.getHost();
        if (host == null) throw bad("baseUrl", url, "a URL with a host");
        boolean loopback = host.equals("[::1]") || host.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
        if (!loopback) throw bad("baseUrl", url, "a loopback IP address such as 127.0.0.1 or [::1]: the load test never leaves this machine");
        if (u.getPath() != null && !u.getPath().isEmpty()) throw bad("baseUrl", url, "a URL without a path");
        return u;
    }

    static Duration duration(String key, String v) {
        String s = v.toLowerCase(Locale.ROOT);
        try {
            if (s.endsWith("ms")) return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
            if (s.endsWith("s")) return Duration.ofMillis(Math.round(Double.parseDouble(s.substring(0, s.length() - 1)) * 1000));
            if (s.endsWith("m")) return Duration.ofMillis(Math.round(Double.parseDouble(s.substring(0, s.length() - 1)) * 60_000));
            return Duration.ofMillis(Math.round(Double.parseDouble(s) * 1000));
        } catch (NumberFormatException | ArithmeticException e) {
            throw bad(key, v, "a duration such as 30s, 500ms or 2m");
        }
    }

    static int[] range(String key, String v, int min, int max) {
        String[] parts = v.split("-", -1);
        try {
            int a = Integer.parseInt(parts[0].trim());
            int b = parts.length == 1 ? a : Integer.parseInt(parts[1].trim());
            if (parts.length > 2 || a < min || b > max || a > b) throw new NumberFormatException();
            return new int[] {a, b};
        } catch (NumberFormatException e) {
            throw bad(key, v, "N or MIN-MAX with " + min + " <= MIN <= MAX <= " + max);
        }
    }

    private static int intIn(String key, String v, int min, int max) {
        return (int) longIn(key, v, min, max);
    }

    private static long longIn(String key, String v, long min, long max) {
        try {
            long n = Long.parseLong(v);
            if (n < min || n > max) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw bad(key, v, "an integer from " + min + " to " + max);
        }
    }

    private static double doubleIn(String key, String v, double min, double max) {
        try {
            double d = Double.parseDouble(v);
            if (!(d >= min && d <= max)) throw new NumberFormatException();
            return d;
        } catch (NumberFormatException e) {
            throw bad(key, v, "a number from " + fmt(min) + " to " + fmt(max));
        }
    }

    private static String or(String v, String dflt) {
        return v == null ? dflt : v;
    }

    private static IllegalArgumentException bad(String key, String value, String expected) {
        return new IllegalArgumentException(PREFIX + key + "=" + value + ": expected " + expected);
    }
}
