package io.expertmesh.loadtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LoadParamsTest {
    private static LoadParams of(String... kv) {
        java.util.Map<String, String> m = new java.util.HashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put("loadtest." + kv[i], kv[i + 1]);
        m.put("unrelated.property", "ignored");
        return LoadParams.from(m);
    }

    @Test
    void defaultsAreAThirtySecondMixedClosedRun() {
        LoadParams p = of();
        assertEquals("http://127.0.0.1:8080", p.baseUrl().toString());
        assertEquals("ws://127.0.0.1:8080", p.wsBaseUrl());
        assertEquals("mixed", p.scenario());
        assertFalse(p.openModel());
        assertEquals(2, p.sseUsers());
        assertEquals(2, p.wsUsers());
        assertEquals(Duration.ofSeconds(30), p.duration());
        assertEquals(8, p.promptWordsMin());
        assertEquals(64, p.promptWordsMax());
        assertEquals(16, p.maxTokensMin());
        assertEquals(64, p.maxTokensMax());
        assertEquals(1000, p.ttftP99Ms());
        assertEquals(0, p.maxKo());
        assertTrue(p.maxDuration().compareTo(p.duration()) > 0);
        assertEquals("scenario mixed, closed model, 4 concurrent users (2 sse + 2 ws), 30 s; prompts 8-64 words, max_tokens 16-64, temperature 0",
                p.describe());
    }

    @Test
    void openModelSplitsTheRate() {
        LoadParams p = of("rate", "3", "users", "0", "duration", "1.5m", "scenario", "MIXED");
        assertTrue(p.openModel());
        assertEquals(1.5, p.sseRate());
        assertEquals(1.5, p.wsRate());
        assertEquals(Duration.ofSeconds(90), p.duration());
        assertEquals(3.0, of("rate", "3", "scenario", "ws").wsRate());
        assertEquals(0.0, of("rate", "3", "scenario", "ws").sseRate());
        assertEquals(5, of("users", "5", "scenario", "sse").sseUsers());
        assertEquals(3, of("users", "5").sseUsers());
    }

    @Test
    void parsesDurationsAndRanges() {
        assertEquals(Duration.ofMillis(500), LoadParams.duration("d", "500ms"));
        assertEquals(Duration.ofSeconds(10), LoadParams.duration("d", "10s"));
        assertEquals(Duration.ofSeconds(10), LoadParams.duration("d", "10"));
        assertEquals(Duration.ofMinutes(2), LoadParams.duration("d", "2m"));
        assertEquals(32, of("maxTokens", "32").maxTokensMax());
        assertEquals(32, of("maxTokens", "32").maxTokensMin());
        assertEquals(100, of("promptWords", "10-100").promptWordsMax());
    }

    @Test
    void refusesBadValuesAndNonLoopbackTargets() {
        for (Map.Entry<String, String> bad : Map.of(
                "baseUrl", "http://example.com:8080",
                "scenario", "grpc",
                "users", "-1",
                "duration", "soon",
                "maxTokens", "64-16",
                "promptWords", "0-5",
                "wsCancelPercent", "101",
                "rate", "NaN",
                "nonsense", "1").entrySet()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> of(bad.getKey(), bad.getValue()), bad.toString());
            assertTrue(e.getMessage().contains("loadtest." + bad.getKey()), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> of("baseUrl", "http://localhost:8080"));
        assertThrows(IllegalArgumentException.class, () -> of("baseUrl", "http://10.0.0.1"));
        assertThrows(IllegalArgumentException.class, () -> of("baseUrl", "http://127.0.0.1:8080/v1"));
        assertThrows(IllegalArgumentException.class, () -> of("users", "0"));
        assertEquals("http://127.0.0.2:9", of("baseUrl", "http://127.0.0.2:9/").baseUrl().toString());
        assertEquals("ws://[::1]:9", of("baseUrl", "http://[::1]:9").wsBaseUrl());
    }
}
