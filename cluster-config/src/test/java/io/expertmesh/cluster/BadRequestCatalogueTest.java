package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.gateway.api.BadBodies;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad requests over a real socket: each gets its status and an OpenAI-style error body, and the
 * server keeps serving (a good request succeeds after each).
 */
class BadRequestCatalogueTest {
    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start("expertmesh.http.max-body-size = 64 KiB, expertmesh.scheduler.max-context = 256");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @AfterEach
    void aGoodRequestStillSucceeds() {
        HttpResponse<String> ok = server.post("/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":2}");
        assertEquals(200, ok.statusCode(), ok.body());
        assertEquals("text_completion", TestServer.json(ok.body()).path("object").asText());
    }

    private static JsonNode error(HttpResponse<String> r, int status) {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), "JSON error body");
        JsonNode error = TestServer.json(r.body()).path("error");
        assertTrue(error.path("message").isTextual() && !error.path("message").asText().isEmpty(), r.body());
        assertTrue(error.path("type").isTextual(), r.body());
        assertTrue(error.has("param") && error.has("code"), "param and code are always present: " + r.body());
        return error;
    }

    static Stream<BadBodies.BadBody> badBodies() {
        return BadBodies.all().stream();
    }

    /** The same body asking for a stream, when that leaves what is wrong with it unchanged. */
    private static String streaming(String json) {
        try {
            JsonNode node = io.expertmesh.model.Json.MAPPER.readTree(json);
            if (node instanceof com.fasterxml.jackson.databind.node.ObjectNode o && !o.has("stream") && !o.has("stream_options")) {
                return o.put("stream", true).toString();
            }
        } catch (java.io.IOException e) {
            return json;
        }
        return json;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badBodies")
    void aRefusedBodyGets400NamingTheField(BadBodies.BadBody bad) {
        for (String json : List.of(bad.json(), streaming(bad.json()))) {
            JsonNode error = error(server.post(bad.endpoint().path(), json), 400);
            assertEquals("invalid_request_error", error.path("type").asText());
            if (bad.param() == null) assertTrue(error.path("param").isNull(), error.toString());
            else assertEquals(bad.param(), error.path("param").asText(), error.toString());
            assertTrue(error.path("message").asText().contains(bad.fragment()), error.toString());
        }
    }

    static Stream<Arguments> badExchanges() {
        String chat = "/v1/chat/completions";
        String longPrompt = "word ".repeat(400);
        return Stream.of(
                Arguments.of("malformed JSON", chat, "{\"messages\": [", 400, "not valid JSON"),
                Arguments.of("empty body", chat, "", 400, "empty"),
                Arguments.of("trailing garbage", chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} x", 400, "not valid JSON"),
                Arguments.of("unknown model", chat, "{\"model\":\"gpt-9\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 404, "gpt-9"),
                Arguments.of("prompt longer than the context", "/v1/completions", "{\"prompt\":\"" + longPrompt + "\"}", 400, "context"),
                Arguments.of("prompt + max_tokens over the context", "/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":300}", 400, "context"),
                Arguments.of("token id outside the vocabulary", "/v1/completions", "{\"prompt\":[1,2,999999]}", 400, "vocabulary"),
                Arguments.of("body over the size limit", chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(70_000) + "\"}]}", 413,
                        "limit"),
                Arguments.of("tokenize without prompt", "/tokenize", "{}", 400, "prompt"),
                Arguments.of("detokenize with strings", "/detokenize", "{\"tokens\":[\"a\"]}", 400, "tokens"),
                Arguments.of("detokenize outside the vocabulary", "/detokenize", "{\"tokens\":[99999999]}", 400, "vocabulary"),
                Arguments.of("unknown path", "/v1/embeddings", "{}", 404, "no endpoint"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badExchanges")
    void aBadExchangeGetsItsStatusAndAnErrorBody(String name, String path, String body, int status, String fragment) {
        JsonNode error = error(server.post(path, body), status);
        assertTrue(error.path("message").asText().contains(fragment), error.toString());
    }

    @Test
    void anOversizeBodyStillBeingSentGetsItsFull413() throws IOException, InterruptedException {
        byte[] body = ("{\"prompt\":\"" + "x".repeat(200_000) + "\"}").getBytes(StandardCharsets.US_ASCII);
        try (Socket socket = new Socket("127.0.0.1", server.node.httpPort())) {
            socket.setSoTimeout(10_000);
            var out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body, 0, 32_768);
            out.flush();
            // A server that answers and closes now, with the rest unread, resets the connection under the client's feet.
            Thread.sleep(500);
            out.write(body, 32_768, body.length - 32_768);
            out.flush();
            var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            String status = in.readLine();
            assertTrue(status != null && status.startsWith("HTTP/1.1 413"), "answered " + status);
            String line;
            int length = -1;
            while (!(line = in.readLine()).isEmpty()) {
                if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) length = Integer.parseInt(line.substring(15).trim());
            }
            char[] error = new char[length];
            for (int read = 0; read < length; ) read += in.read(error, read, length - read);
            assertTrue(new String(error).contains("exceeds the limit"), new String(error));
        }
    }

    @Test
    void aWrongMethodGets405() {
        JsonNode error = error(server.get("/v1/chat/completions"), 405);
        assertTrue(error.path("message").asText().contains("POST"), error.toString());
        error(server.send(HttpRequest.newBuilder(server.uri("/v1/models")).DELETE().build()), 405);
    }

    @Test
    void aPlainGetOnTheWebSocketPathGets400() {
        error(server.get("/v1/stream"), 400);
    }

    @Test
    void aWebSocketFromAnotherSiteIsRefused() {
        var refused = server.http.newWebSocketBuilder().header("Origin", "https://evil.example")
                .buildAsync(URI.create("ws://127.0.0.1:" + server.node.httpPort() + "/v1/stream"), new WebSocket.Listener() {});
        var failure = assertThrows(CompletionException.class, refused::join);
        var handshake = assertInstanceOf(WebSocketHandshakeException.class, failure.getCause());
        assertEquals(403, handshake.getResponse().statusCode());
    }

    @Test
    void aPostFromAnotherSitesPageIsRefusedAndOneFromTheServersOwnPageServed() {
        String body = "{\"prompt\":\"hi\",\"max_tokens\":2}";
        for (String foreign : List.of("https://evil.example", "http://127.0.0.1:1", "null")) {
            // text/plain is what a cross-site form or fetch may send without a CORS preflight.
            JsonNode error = error(server.send(HttpRequest.newBuilder(server.uri("/v1/completions")).header("Origin", foreign)
                    .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString(body)).build()), 403);
            assertTrue(error.path("message").asText().contains(foreign), error.toString());
        }
        HttpResponse<String> own = server.send(HttpRequest.newBuilder(server.uri("/v1/completions"))
                .header("Origin", "http://127.0.0.1:" + server.node.httpPort()).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
        assertEquals(200, own.statusCode(), own.body());
    }

    @Test
    void aDnsRebindingWebSocketIsRefusedThoughItsOriginMatchesItsHost() throws IOException {
        String site = "rebind.example:" + server.node.httpPort();
        try (Socket socket = new Socket("127.0.0.1", server.node.httpPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("GET /v1/stream HTTP/1.1\r\nHost: " + site + "\r\nOrigin: http://" + site
                    + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "Sec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String status = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
            assertTrue(status != null && status.startsWith("HTTP/1.1 403"), "upgrade answered " + status);
        }
    }

    @Test
    void aWebSocketFromTheServersOwnPageIsAccepted() {
        var socket = server.http.newWebSocketBuilder().header("Origin", "http://localhost:" + server.node.httpPort())
                .buildAsync(URI.create("ws://127.0.0.1:" + server.node.httpPort() + "/v1/stream"), new WebSocket.Listener() {}).join();
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "").join();
    }

    @Test
    void badWebSocketFramesGetErrorFramesAndTheSocketKeepsWorking() {
        try (TestServer.WsClient ws = server.websocket()) {
            List<String> frames = List.of("not json", "[1,2]", "{\"type\":\"chat.completions\"}", "{\"id\":\"a\",\"type\":\"shout\"}",
                    "{\"id\":\"a\",\"type\":\"chat.completions\",\"body\":\"hi\"}",
                    "{\"id\":\"a\",\"type\":\"chat.completions\",\"body\":{\"messages\":[]}}",
                    "{\"id\":\"a\",\"type\":\"completions\",\"body\":{\"prompt\":\"hi\",\"temperature\":\"hot\"}}",
                    "{\"id\":\"nope\",\"type\":\"cancel\"}", "{\"id\":42,\"type\":\"cancel\"}");
            for (String f : frames) {
                ws.send(f);
                JsonNode reply = ws.next();
                assertTrue(reply.has("error"), f + " → " + reply);
                assertTrue(reply.path("error").path("message").asText().length() > 0);
            }
            // A guide that fails to compile (off the socket's thread) is an error frame for its request.
            ws.send("{\"id\":\"g\",\"type\":\"chat.completions\",\"body\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                    + "\"guided_json\":{\"type\":\"string\",\"format\":\"email\"}}}");
            JsonNode guideError = ws.next();
            assertEquals("g", guideError.path("id").asText(), guideError.toString());
            assertEquals("guided_json", guideError.path("error").path("param").asText(), guideError.toString());
            ws.socket().sendBinary(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3}), true).join();
            assertTrue(ws.next().path("error").path("message").asText().contains("binary"));
            // 200 KiB in fragments, over the 64 KiB limit: an error frame, not a closed socket.
            String part = "x".repeat(16 << 10);
            for (int i = 0; i < 12; i++) ws.socket().sendText(part, false).join();
            ws.socket().sendText(part, true).join();
            assertTrue(ws.next().path("error").path("message").asText().contains("frame larger than"));
            ws.send("{\"id\":\"ok\",\"type\":\"completions\",\"body\":{\"prompt\":\"hi\",\"max_tokens\":3}}");
            List<JsonNode> mine = ws.until("ok", new ArrayList<>());
            assertTrue(mine.getLast().path("done").asBoolean(), mine.getLast().toString());
        }
    }
}
