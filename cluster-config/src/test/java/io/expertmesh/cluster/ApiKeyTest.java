package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** With an API key configured, the API needs it; health and metrics stay open for probes and scrapers. */
class ApiKeyTest {
    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start("expertmesh.http.api-key = \"sesame\"");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private int models(String authorization) {
        var b = HttpRequest.newBuilder(server.uri("/v1/models")).GET();
        if (authorization != null) b.header("Authorization", authorization);
        return server.send(b.build()).statusCode();
    }

    @Test
    void requestsWithoutTheRightKeyGet401() {
        var r = server.post("/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":2}");
        assertEquals(401, r.statusCode());
        JsonNode error = TestServer.json(r.body()).path("error");
        assertEquals("authentication_error", error.path("type").asText());
        assertEquals(401, models(null));
        assertEquals(401, models("Bearer wrong"));
        assertEquals(200, models("Bearer sesame"));
    }

    @Test
    void healthAndMetricsNeedNoKey() {
        assertEquals(200, server.get("/health").statusCode());
        assertEquals(200, server.get("/metrics").statusCode());
    }
}
