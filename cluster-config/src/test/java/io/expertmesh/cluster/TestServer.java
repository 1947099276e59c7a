package io.expertmesh.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.expertmesh.gateway.GatewaySettings;
import io.expertmesh.model.Json;
import io.expertmesh.model.cuda.Gpu;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A real node on a loopback port with the tiny model, and an HTTP/SSE/WebSocket client for it. */
final class TestServer implements AutoCloseable {
    static final Path MODEL = Path.of(System.getProperty("expertmesh.tinyModel", "../models/tiny-ernie-4.5-moe"));
    static final String MODEL_ID = "tiny-ernie-4.5-moe";

    final MeshNode node;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private TestServer(MeshNode node) {
        this.node = node;
    }

    /** Starts a node with {@code overrides} (HOCON) over the defaults and waits until /health is 200. */
    static TestServer start(String overrides) {
        var config = ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load());
        return healthy(new TestServer(MeshNode.start(MODEL, config, GatewaySettings.from(config).withPort(0))));
    }

    /** As {@link #start(String)}, with the engine on {@code gpu}. */
    static TestServer start(String overrides, Gpu gpu) {
        var config = ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load());
        return healthy(new TestServer(MeshNode.start(MODEL, config, GatewaySettings.from(config).withPort(0), () -> gpu)));
    }

    /** A client of an already started node (not closed with it), once its /health is 200. */
    static TestServer attach(MeshNode node) {
        return healthy(new TestServer(node));
    }

    private static TestServer healthy(TestServer server) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (server.get("/health").statusCode() != 200) {
            if (System.nanoTime() > deadline) throw new AssertionError("server not healthy after 60 s: " + server.get("/health").body());
            sleep(100);
        }
        return server;
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + node.httpPort() + path);
    }

    HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(uri(path)).GET().build());
    }

    HttpResponse<String> post(String path, String body) {
        return send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    HttpResponse<String> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new AssertionError(request.uri() + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The parsed {@code data:} payloads of an SSE response, "[DONE]" as a text node. */
    static List<JsonNode> events(HttpResponse<String> response) {
        List<JsonNode> out = new ArrayList<>();
        String body = response.body();
        for (String event : body.split("\n\n")) {
            if (event.isBlank()) continue;
            if (!event.startsWith("data: ")) throw new AssertionError("not an SSE data event: " + event);
            String data = event.substring("data: ".length());
            out.add(data.equals("[DONE]") ? Json.MAPPER.getNodeFactory().textNode("[DONE]") : json(data));
        }
        return out;
    }

    /** The concatenated text of chat or completion chunks. */
    static String text(List<JsonNode> chunks) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode c : chunks) {
            JsonNode choice = c.path("choices").path(0);
            if (choice.has("delta")) sb.append(choice.path("delta").path("content").asText(""));
            else if (choice.has("text")) sb.append(choice.path("text").asText(""));
        }
        return sb.toString();
    }

    static JsonNode json(String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    static ObjectNode chatBody(String user, int maxTokens, boolean stream) {
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("model", MODEL_ID);
        body.putArray("messages").addObject().put("role", "user").put("content", user);
        body.put("max_tokens", maxTokens);
        body.put("temperature", 0);
        body.put("stream", stream);
        return body;
    }

    /** A metric's value from /metrics (the first line with that name and labels). */
    double metric(String nameAndLabels) {
        for (String line : get("/metrics").body().split("\n")) {
            if (line.startsWith(nameAndLabels + " ")) return Double.parseDouble(line.substring(nameAndLabels.length() + 1).trim());
        }
        throw new AssertionError("metric " + nameAndLabels + " not found in /metrics");
    }

    /** A WebSocket to /v1/stream that collects text frames as JSON. */
    WsClient websocket() {
        var frames = new LinkedBlockingQueue<JsonNode>();
        var closed = new CompletableFuture<Integer>();
        WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + node.httpPort() + "/v1/stream"),
                new WebSocket.Listener() {
                    private final StringBuilder partial = new StringBuilder();

                    @Override
                    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                        partial.append(data);
                        if (last) {
                            frames.add(json(partial.toString()));
                            partial.setLength(0);
                        }
                        webSocket.request(1);
                        return null;
                    }

                    @Override
                    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                        closed.complete(statusCode);
                        return null;
                    }
                }).join();
        return new WsClient(ws, frames, closed);
    }

    record WsClient(WebSocket socket, LinkedBlockingQueue<JsonNode> frames, CompletableFuture<Integer> closed) implements AutoCloseable {
        void send(String text) {
            socket.sendText(text, true).join();
        }

        JsonNode next() {
            try {
                JsonNode f = frames.poll(60, TimeUnit.SECONDS);
                if (f == null) throw new AssertionError("no WebSocket frame within 60 s");
                return f;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }

        /** Reads frames of request {@code id} until its done or error frame; returns them all (frames of other ids are kept aside). */
        List<JsonNode> until(String id, List<JsonNode> others) {
            List<JsonNode> mine = new ArrayList<>();
            while (true) {
                JsonNode f = next();
                if (!id.equals(f.path("id").asText(null))) {
                    others.add(f);
                    continue;
                }
                mine.add(f);
                if (f.has("done") || f.has("error")) return mine;
            }
        }

        @Override
        public void close() {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").exceptionally(e -> null).join();
        }
    }

    @Override
    public void close() {
        node.shutdown(Duration.ofSeconds(30));
    }
}
