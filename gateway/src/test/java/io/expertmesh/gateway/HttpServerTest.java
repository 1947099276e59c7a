package io.expertmesh.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.expertmesh.model.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The connection limits of {@link HttpServer}: the header timeout, and a 503 beyond max-connections. */
class HttpServerTest {
    private static final String PARTIAL_HEAD = "POST /v1/completions HTTP/1.1\r\nHost: x\r\n";
    private static final String GET_HEALTH = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

    private static ActorSystem<Void> system;
    private final List<HttpServer.Binding> bindings = new ArrayList<>();
    private final List<Socket> sockets = new ArrayList<>();

    /** /health, a response that never comes, a chunked body whose chunks are 800 ms apart, and a WebSocket echo. */
    private static final Route ROUTES = Directives.concat(
            Directives.path("health", () -> Directives.complete("ok")),
            Directives.path("never", () -> Directives.completeWithFuture(new CompletableFuture<>())),
            Directives.path("slow", () -> Directives.complete(HttpResponse.create().withEntity(HttpEntities.createChunked(
                    ContentTypes.TEXT_PLAIN_UTF8, Source.range(1, 3).throttle(1, Duration.ofMillis(800))
                            .map(i -> ByteString.fromString("chunk " + i + "\n", StandardCharsets.UTF_8)))))),
            Directives.path("echo", () -> Directives.handleWebSocketMessages(Flow.<Message>create())));

    @BeforeAll
    static void startSystem() {
        system = ActorSystem.create(Behaviors.empty(), "http-server-test",
                ConfigFactory.parseString("pekko.http.server.idle-timeout = 3s").withFallback(ConfigFactory.load()));
    }

    @AfterAll
    static void stopSystem() {
        system.terminate();
    }

    @AfterEach
    void closeAll() throws IOException {
        for (Socket s : sockets) s.close();
        for (HttpServer.Binding b : bindings) b.unbind().toCompletableFuture().join();
    }

    /** A server on a free loopback port with {@code overrides} over the gateway's defaults; returns its port. */
    private int serve(String overrides) {
        Config config = ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load());
        GatewaySettings settings = GatewaySettings.from(config).withPort(0);
        HttpServer.Binding binding = new HttpServer(system, settings).bind(ROUTES.flow(system)).toCompletableFuture().join();
        bindings.add(binding);
        return binding.localAddress().getPort();
    }

    private Socket connect(int port, String send) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        sockets.add(s);
        s.setSoTimeout(10_000);
        if (!send.isEmpty()) {
            s.getOutputStream().write(send.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
        }
        return s;
    }

    /** Reads until the server closes the connection; returns what it sent. */
    private static String readToEnd(Socket s) throws IOException {
        var out = new ByteArrayOutputStream();
        InputStream in = s.getInputStream();
        byte[] buf = new byte[4096];
        try {
            for (int n; (n = in.read(buf)) >= 0; ) out.write(buf, 0, n);
        } catch (SocketException reset) {
            // A reset closes the connection too.
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Reads until what was read ends with {@code end}; returns it. */
    private static String readUntil(Socket s, String end) throws IOException {
        InputStream in = s.getInputStream();
        var read = new ByteArrayOutputStream();
        while (!read.toString(StandardCharsets.UTF_8).endsWith(end)) {
            int b = in.read();
            if (b < 0) throw new IOException("connection closed after: " + read);
            read.write(b);
        }
        return read.toString(StandardCharsets.UTF_8);
    }

    /** Reads one response: its status line, headers and a Content-Length body; returns them as text. */
    private static String readResponse(Socket s) throws IOException {
        String text = readUntil(s, "\r\n\r\n");
        int length = 0;
        for (String line : text.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) length = Integer.parseInt(line.substring(15).trim());
        }
        return text + new String(s.getInputStream().readNBytes(length), StandardCharsets.UTF_8);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    @Test
    void aConnectionWithoutACompleteRequestHeadIsClosedAfterTheHeaderTimeout() throws IOException {
        int port = serve("expertmesh.http.header-timeout = 500ms");
        long start = System.nanoTime();
        Socket partial = connect(port, PARTIAL_HEAD);
        Socket silent = connect(port, "");
        assertEquals("", readToEnd(partial));
        assertEquals("", readToEnd(silent));
        long elapsed = millisSince(start);
        assertTrue(elapsed >= 450 && elapsed < 2000, "closed after " + elapsed + " ms, header-timeout is 500 ms (idle-timeout 3 s)");
    }

    @Test
    void aKeepAliveConnectionServesRequestsThenIsClosedWhenIdleForTheHeaderTimeout() throws IOException {
        int port = serve("expertmesh.http.header-timeout = 500ms");
        Socket s = connect(port, GET_HEALTH);
        assertTrue(readResponse(s).startsWith("HTTP/1.1 200 "));
        sleep(300);
        s.getOutputStream().write(GET_HEALTH.getBytes(StandardCharsets.US_ASCII));
        String second = readResponse(s);
        assertTrue(second.startsWith("HTTP/1.1 200 ") && second.endsWith("ok"), second);
        long idleFrom = System.nanoTime();
        assertEquals("", readToEnd(s));
        long idle = millisSince(idleFrom);
        assertTrue(idle >= 400 && idle < 2000, "closed after " + idle + " ms idle, header-timeout is 500 ms (idle-timeout 3 s)");
    }

    @Test
    void aRequestInProgressIsClosedByTheIdleTimeoutNotTheHeaderTimeout() throws IOException {
        int port = serve("expertmesh.http.header-timeout = 300ms");
        long start = System.nanoTime();
        Socket s = connect(port, "GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
        assertEquals("", readToEnd(s));
        long elapsed = millisSince(start);
        assertTrue(elapsed >= 2900 && elapsed < 8000, "closed after " + elapsed + " ms, pekko.http.server.idle-timeout is 3 s");
    }

    @Test
    void aResponseQuieterThanTheHeaderTimeoutIsNotCutOffAndItsConnectionServesTheNextRequest() throws IOException {
        int port = serve("expertmesh.http.header-timeout = 300ms");
        Socket s = connect(port, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
        String response = readUntil(s, "\r\n0\r\n\r\n");
        assertTrue(response.startsWith("HTTP/1.1 200 "), response);
        for (int i = 1; i <= 3; i++) assertTrue(response.contains("chunk " + i + "\n"), response);
        s.getOutputStream().write(GET_HEALTH.getBytes(StandardCharsets.US_ASCII));
        assertTrue(readResponse(s).startsWith("HTTP/1.1 200 "), "the header timeout runs from the end of the response, not its start");
    }

    @Test
    void aWebSocketOutlivesTheHeaderTimeout() {
        int port = serve("expertmesh.http.header-timeout = 300ms");
        var echo = new CompletableFuture<String>();
        var closed = new CompletableFuture<Integer>();
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + port + "/echo"),
                new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
                        echo.complete(data.toString());
                        return null;
                    }

                    @Override
                    public CompletionStage<?> onClose(WebSocket socket, int status, String reason) {
                        closed.complete(status);
                        return null;
                    }
                }).join();
        sleep(1200);
        assertTrue(!closed.isDone(), "the socket was closed while idle");
        ws.sendText("still here", true).join();
        assertEquals("still here", echo.orTimeout(5, TimeUnit.SECONDS).join());
        ws.abort();
    }

    @Test
    void aConnectionBeyondMaxConnectionsGetsA503AndIsClosed() throws IOException {
        int port = serve("expertmesh.http { max-connections = 2, header-timeout = 10s }");
        Socket first = connect(port, PARTIAL_HEAD);
        connect(port, PARTIAL_HEAD);
        long start = System.nanoTime();
        String refused = readToEnd(connect(port, GET_HEALTH));
        assertTrue(millisSince(start) < 2000, "answered at once, not after a timeout");
        assertTrue(refused.startsWith("HTTP/1.1 503 Service Unavailable\r\n"), refused);
        assertTrue(refused.contains("\r\nRetry-After: 1\r\n") && refused.contains("\r\nConnection: close\r\n"), refused);
        var error = Json.MAPPER.readTree(refused.substring(refused.indexOf("\r\n\r\n") + 4)).path("error");
        assertEquals("service_unavailable", error.path("type").asText());
        assertTrue(error.path("message").asText().contains("expertmesh.http.max-connections"), error.toString());

        first.close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        String status;
        do {
            Socket s = connect(port, GET_HEALTH);
            status = readResponse(s).lines().findFirst().orElseThrow();
            s.close();
        } while (status.contains(" 503 ") && System.nanoTime() < deadline);
        assertEquals("HTTP/1.1 200 OK", status, "a closed connection frees its place");
    }
}
