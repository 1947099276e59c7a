package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The browser playground: the page and its two files are served without the API key, with the right
 * content types, and load nothing from anywhere but the server; the WebSocket takes the key as
 * {@code ?api_key=} because a browser cannot set its headers. (The page itself is driven in a real
 * browser by {@code .ci/playground-test}.)
 */
class PlaygroundTest {
    private static final String KEY = "sesame";
    private static final Pattern ABSOLUTE_URL = Pattern.compile("(?i)\\b[a-z][a-z0-9+.-]*://[^\\s\"'`)]*");
    private static final Pattern LINK_ATTRIBUTE = Pattern.compile("(?i)\\b(?:src|href|action|srcset|poster|data)\\s*=\\s*\"([^\"]*)\"");
    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start("expertmesh.http.api-key = \"" + KEY + "\"");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String contentType(HttpResponse<String> r) {
        return r.headers().firstValue("Content-Type").orElse("");
    }

    @Test
    void rootServesThePageWithoutAKey() {
        HttpResponse<String> page = server.get("/");
        assertEquals(200, page.statusCode());
        assertTrue(contentType(page).startsWith("text/html"), contentType(page));
        assertTrue(page.body().startsWith("<!doctype html>"));
        assertTrue(page.body().contains("src=\"playground/app.js\""));
        assertTrue(page.body().contains("href=\"playground/app.css\""));

        HttpResponse<String> js = server.get("/playground/app.js");
        assertEquals(200, js.statusCode());
        assertTrue(contentType(js).startsWith("application/javascript"), contentType(js));
        assertTrue(js.body().contains("v1/stream"));
        HttpResponse<String> css = server.get("/playground/app.css");
        assertEquals(200, css.statusCode());
        assertTrue(contentType(css).startsWith("text/css"), contentType(css));
        assertTrue(page.headers().firstValue("Content-Security-Policy").orElse("").contains("default-src 'self'"));

        // Nothing else is served from there, and the API itself still wants the key.
        assertNotEquals(200, server.get("/playground/index.htm").statusCode());
        assertNotEquals(200, server.get("/playground/pom.xml").statusCode());
        assertEquals(401, server.get("/cluster").statusCode());
    }

    @Test
    void thePageLoadsOnlyFromItsOwnServer() {
        for (String path : List.of("/", "/playground/app.js", "/playground/app.css")) {
            String body = server.get(path).body();
            Matcher url = ABSOLUTE_URL.matcher(body);
            assertFalse(url.find(), () -> path + " names an absolute URL: " + url.group());
            assertFalse(body.contains("//cdn"), path + " mentions a CDN");
            assertFalse(body.contains("@import"), path + " imports a style sheet");
            assertFalse(body.contains("url(") && path.endsWith(".css"), path + " loads a resource with url()");
            Matcher link = LINK_ATTRIBUTE.matcher(body);
            while (link.find()) {
                String target = link.group(1);
                assertFalse(target.startsWith("//") || target.startsWith("/") && !target.startsWith("/playground/"),
                        path + " links outside the page: " + target);
                assertFalse(target.matches("(?i)^[a-z][a-z0-9+.-]*:.*") && !target.equals("data:,"), path + " links to " + target);
            }
        }
    }

    @Test
    void theWebSocketTakesTheKeyAsAQueryParameter() throws Exception {
        assertEquals(401, handshakeStatus(""));
        assertEquals(401, handshakeStatus("?api_key=wrong"));

        var frames = new LinkedBlockingQueue<JsonNode>();
        WebSocket ws = server.http.newWebSocketBuilder().buildAsync(socketUri("?api_key=" + KEY), new WebSocket.Listener() {
            private final StringBuilder partial = new StringBuilder();

            @Override
            public java.util.concurrent.CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    frames.add(TestServer.json(partial.toString()));
                    partial.setLength(0);
                }
                webSocket.request(1);
                return null;
            }
        }).join();
        try {
            ws.sendText("{\"type\":\"chat.completions\",\"id\":\"k1\",\"body\":" + TestServer.chatBody("Hello!", 4, true) + "}", true).join();
            List<JsonNode> got = new ArrayList<>();
            while (true) {
                JsonNode f = frames.poll(60, TimeUnit.SECONDS);
                if (f == null) throw new AssertionError("no frame within 60 s; got " + got);
                got.add(f);
                if (f.has("done") || f.has("error")) break;
            }
            assertTrue(got.getLast().path("done").asBoolean(), got.toString());
            assertTrue(got.stream().anyMatch(f -> f.has("chunk")));
        } finally {
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").exceptionally(e -> null).join();
        }
    }

    @Test
    void theReadyLineNamesAUrlABrowserCanOpen() {
        assertEquals("http://127.0.0.1:8080/", MeshNode.playgroundUrl("127.0.0.1", 8080));
        assertEquals("http://127.0.0.1:8080/", MeshNode.playgroundUrl("0.0.0.0", 8080));
        assertEquals("http://[::1]:9000/", MeshNode.playgroundUrl("::1", 9000));
        assertEquals("http://mesh.local:80/", MeshNode.playgroundUrl("mesh.local", 80));
    }

    private static URI socketUri(String query) {
        return URI.create("ws://127.0.0.1:" + server.node.httpPort() + "/v1/stream" + query);
    }

    private static int handshakeStatus(String query) {
        try {
            server.http.newWebSocketBuilder().buildAsync(socketUri(query), new WebSocket.Listener() {}).join()
                    .sendClose(WebSocket.NORMAL_CLOSURE, "").join();
            return 101;
        } catch (CompletionException e) {
            return assertInstanceOf(WebSocketHandshakeException.class, e.getCause()).getResponse().statusCode();
        }
    }
}
