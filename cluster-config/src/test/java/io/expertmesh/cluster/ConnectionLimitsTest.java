package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.UnixOperatingSystemMXBean;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.net.SocketException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Half-sent requests cannot lock clients out of the HTTP API (expertmesh.http.header-timeout and max-connections). */
class ConnectionLimitsTest {
    private static final int SLOW_SOCKETS = 1024;
    private static final byte[] PARTIAL_HEAD = "POST /v1/completions HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII);
    private static TestServer server;

    @BeforeAll
    static void start() {
        // The server takes connections in at a pace that depends on the machine (about 100 a second on a busy
        // two-core one), so a small max-connections is what makes the slow sockets fill it and be refused.
        server = TestServer.start("expertmesh.http { header-timeout = 1s, max-connections = 64 }");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** 1024, or fewer where this process may not open a client and a server descriptor for each. */
    private static int slowSocketsThatFit() {
        if (!(ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean os)) return SLOW_SOCKETS;
        long spare = os.getMaxFileDescriptorCount() - os.getOpenFileDescriptorCount() - 256;
        if (spare >= 2L * SLOW_SOCKETS) return SLOW_SOCKETS;
        int fits = (int) Math.max(1, spare / 2);
        System.err.println("ConnectionLimitsTest: the descriptor limit (ulimit -n) is " + os.getMaxFileDescriptorCount() + ", so only "
                + fits + " slow sockets instead of " + SLOW_SOCKETS + "; raise it to about " + (2 * SLOW_SOCKETS + 512) + " for the full test");
        return fits;
    }

    /** What the server sends until it closes the connection (a reset counts as closed). */
    private static String readToEnd(Socket s) throws IOException {
        var out = new ByteArrayOutputStream();
        InputStream in = s.getInputStream();
        byte[] buf = new byte[4096];
        try {
            for (int n; (n = in.read(buf)) >= 0; ) out.write(buf, 0, n);
        } catch (SocketException reset) {
            // closed
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aThousandSlowSocketsDoNotLockOutANormalRequest() throws Exception {
        int count = slowSocketsThatFit();
        List<Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                Socket s = new Socket("127.0.0.1", server.node.httpPort());
                slow.add(s);
                s.setSoTimeout(10_000);
                s.getOutputStream().write(PARTIAL_HEAD);
                s.getOutputStream().flush();
            }

            // A new client: TestServer's own may still hold a connection from before the slow sockets.
            HttpClient client = HttpClient.newHttpClient();
            // Every attempt is answered at once: a 503 (Retry-After) while the stalled sockets hold every place,
            // 200 once their header timeout has closed them.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            HttpResponse<String> health;
            while (true) {
                long left = deadline - System.nanoTime();
                assertTrue(left > 0, "no 200 from /health within 2 s of opening " + count + " slow sockets");
                try {
                    health = client.send(HttpRequest.newBuilder(server.uri("/health")).timeout(Duration.ofNanos(left)).GET().build(),
                            HttpResponse.BodyHandlers.ofString());
                } catch (HttpTimeoutException e) {
                    throw new AssertionError("/health did not answer within 2 s of opening " + count + " slow sockets", e);
                }
                if (health.statusCode() == 200) break;
                assertEquals(503, health.statusCode(), health.body());
                assertTrue(health.body().contains("expertmesh.http.max-connections"), health.body());
                TestServer.sleep(100);
            }
            assertEquals("{\"status\":\"ok\"}", health.body());

            // How many were refused depends on how fast they were opened; each one ends either way.
            for (Socket s : slow) {
                String answer = readToEnd(s);
                assertTrue(answer.isEmpty() || answer.startsWith("HTTP/1.1 503 "), answer);
            }
        } finally {
            for (Socket s : slow) s.close();
        }
    }
}
