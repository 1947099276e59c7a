package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * SIGTERM on a real {@code mesh serve} process: new requests get 503 at once, a short stream
 * finishes normally, a long one ends with an error event and [DONE] when the drain timeout passes,
 * and the process exits.
 */
class ShutdownDrainTest {
    private static final Pattern LISTENING = Pattern.compile("HTTP API on http://127\\.0\\.0\\.1:(\\d+)");

    @Test
    void sigtermStopsAdmittingDrainsThenEndsTheRest() throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process server = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-Dexpertmesh.scheduler.drain-timeout=5s",
                "-cp", System.getProperty("java.class.path"), MeshMain.class.getName(),
                "serve", "--model", TestServer.MODEL.toString(), "--port", "0").redirectErrorStream(true).start();
        List<String> log = new ArrayList<>();
        CompletableFuture<Integer> port = new CompletableFuture<>();
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try (var in = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    synchronized (log) {
                        log.add(line);
                    }
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) port.complete(Integer.parseInt(m.group(1)));
                }
            } catch (IOException e) {
                port.completeExceptionally(e);
            }
        });
        try {
            int p = port.get(60, TimeUnit.SECONDS);
            HttpClient http = HttpClient.newHttpClient();
            URI chat = URI.create("http://127.0.0.1:" + p + "/v1/chat/completions");
            while (http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode() != 200) {
                TestServer.sleep(100);
            }
            var longStream = http.sendAsync(post(chat, TestServer.chatBody("Talk for a long time", 30000, true).toString()),
                    HttpResponse.BodyHandlers.ofString());
            try (RawHttp probe = new RawHttp(p, "/v1/chat/completions", TestServer.chatBody("Warm up", 2000, true).toString())) {
                probe.statusLine();
                probe.readLineStartingWith("data: ");
            }
            var shortStream = http.sendAsync(post(chat, TestServer.chatBody("Say hi", 30, true).toString()),
                    HttpResponse.BodyHandlers.ofString());
            TestServer.sleep(300);
            server.toHandle().destroy(); // SIGTERM; Process.destroy() would also close the pipe we read the log from
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            int status = 0;
            while (System.nanoTime() < deadline && status != 503) {
                status = http.send(post(chat, TestServer.chatBody("Too late", 4, false).toString()), HttpResponse.BodyHandlers.ofString())
                        .statusCode();
            }
            assertEquals(503, status, "new requests are refused while draining");

            HttpResponse<String> shortDone = shortStream.get(30, TimeUnit.SECONDS);
            var shortEvents = TestServer.events(shortDone);
            assertEquals("[DONE]", shortEvents.getLast().asText());
            assertTrue(shortEvents.get(shortEvents.size() - 2).path("choices").path(0).path("finish_reason").isTextual(),
                    "the short stream finished normally: " + shortEvents.get(shortEvents.size() - 2));

            var longEvents = TestServer.events(longStream.get(30, TimeUnit.SECONDS));
            assertEquals("[DONE]", longEvents.getLast().asText());
            assertTrue(longEvents.get(longEvents.size() - 2).path("error").path("message").asText().contains("shutting down"),
                    "the long stream ended with an error event: " + longEvents.get(longEvents.size() - 2));
            assertTrue(server.waitFor(30, TimeUnit.SECONDS), "the process exits after the drain");
        } finally {
            server.destroyForcibly();
            reader.join(5000);
        }
        synchronized (log) {
            assertTrue(log.stream().anyMatch(l -> l.contains("draining")), String.join("\n", log));
        }
    }

    private static HttpRequest post(URI uri, String body) {
        return HttpRequest.newBuilder(uri).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }
}
