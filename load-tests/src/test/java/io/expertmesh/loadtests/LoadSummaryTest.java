package io.expertmesh.loadtests;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.tools.MetricsText;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoadSummaryTest {
    private static ClientStats client(long ttftBoundMs, int unfinished) {
        ClientStats c = new ClientStats();
        c.params.putAll(LoadParams.from(java.util.Map.of("loadtest.ttftP99Ms", Long.toString(ttftBoundMs))).toJson());
        for (int i = 0; i < 33 + unfinished; i++) c.started("sse", 1000);
        for (int i = 0; i < 33; i++) c.finished("sse", 2000, null, false, 100, 40, List.of(1000L, 1004L, 1010L));
        for (int i = 0; i < 42; i++) c.started("ws", 1000);
        for (int i = 0; i < 42; i++) c.finished("ws", 2000, null, i % 5 == 0, 90, 30, List.of(1000L, 1003L));
        return c;
    }

    /** The server's TTFT histogram (two buckets) and generated tokens, as /metrics writes them. */
    private static MetricsText scrape(long ttftWithin100Ms, long ttftAll, long tokens) {
        return MetricsText.parse("""
                mesh:time_to_first_token_seconds_bucket{le="0.1"} %d
                mesh:time_to_first_token_seconds_bucket{le="+Inf"} %d
                mesh:time_to_first_token_seconds_count %d
                mesh:generation_tokens_total %d
                """.formatted(ttftWithin100Ms, ttftAll, ttftAll, tokens));
    }

    private static LoadSummary.Result run(ClientStats c) throws IOException {
        MetricsText before = scrape(10, 10, 50);
        MetricsText after = scrape(60, 85, 4050);
        return LoadSummary.summarise(SimulationLogTest.fixture(), Path.of("/tmp/run/simulation.log"), c, before, after,
                "http://127.0.0.1:1234", "passed");
    }

    @Test
    void summarisesAPassingRun() throws IOException {
        LoadSummary.Result r = run(client(1000, 0));
        String text = String.join("\n", r.lines());
        assertTrue(r.passed(), text);
        assertTrue(r.lines().size() <= 30, "one screen: " + r.lines().size() + " lines");
        assertTrue(text.contains("  sse             33      0"), text);
        assertTrue(text.contains("  ws              42      0          9"), text);
        assertTrue(text.contains("Gatling requests and checks: 294 OK, 0 KO"), text);
        assertTrue(text.contains("  sse       139    371    425    425     33"), text);
        assertTrue(text.contains("  ws         93    319    512    512     42"), text);
        assertTrue(text.contains("/tmp/run/index.html"), text);
        assertTrue(text.contains("(4000 tokens: mesh:generation_tokens_total)"), text);
        // 50 of the run's 75 first tokens within 100 ms: the median interpolated, p95 and p99 past the last bound
        assertTrue(text.contains("  server    ~75   >100   >100      -     75"), text);
        assertTrue(text.endsWith("RESULT: PASS"), text);
    }

    @Test
    void groupsErrorsThatDifferOnlyInTheRequestId() {
        org.junit.jupiter.api.Assertions.assertEquals("error frame: {\"id\":\"...\",\"error\":{\"message\":\"busy\"}}",
                LoadSummary.withoutIds("error frame: {\"id\":\"u259-1\",\"error\":{\"message\":\"busy\"}}"));
    }

    @Test
    void failsOnTheTtftBoundAndOnUnfinishedCompletions() throws IOException {
        LoadSummary.Result slow = run(client(500, 0));
        assertFalse(slow.passed());
        assertTrue(String.join("\n", slow.lines()).contains("< 500 ms FAILED"));
        LoadSummary.Result lost = run(client(1000, 2));
        assertFalse(lost.passed());
        assertTrue(String.join("\n", lost.lines()).contains("2 completions never finished"));
    }
}
