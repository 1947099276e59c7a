package io.expertmesh.loadtests;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Warms a freshly started server up before it is measured (its first requests run cold code and would land
 * in the TTFT percentiles): a few rounds of concurrent SSE completions and WebSocket completions with the
 * load test's own request mix, until a round is no slower than the one before or the rounds run out.
 *
 * <pre>java -cp load-tests/target/classes:cluster-config/target/mesh.jar io.expertmesh.loadtests.Warmup URL [ROUNDS] [CONCURRENCY]</pre>
 * Talks to loopback addresses only. Exits 1 if a warm-up request fails.
 */
public final class Warmup {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: Warmup URL [ROUNDS] [CONCURRENCY]");
            System.exit(2);
        }
        URI base = LoadParams.loopbackUrl(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 6;
        int concurrency = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        LoadParams params = LoadParams.from(Map.of("loadtest.baseUrl", base.toString(), "loadtest.seed", "-1"));
        Prompts prompts = new Prompts(params);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        long t0 = System.nanoTime();
        long previous = Long.MAX_VALUE;
        int done = 0;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int round = 0; round < rounds; round++) {
                long start = System.nanoTime();
                List<Future<String>> results = new ArrayList<>();
                for (int i = 0; i < concurrency; i++) {
                    Prompts.Request r = prompts.next();
                    boolean ws = i % 2 == 1;
                    results.add(pool.submit(() -> ws ? webSocket(http, params, r) : sse(http, base, r)));
                }
                for (Future<String> f : results) {
                    String error = f.get(120, TimeUnit.SECONDS);
                    if (error != null) {
                        System.err.println("warm-up: request failed: " + error);
                        System.exit(1);
                    }
                    done++;
                }
                long took = System.nanoTime() - start;
                if (round >= 2 && took >= previous) break;  // no faster than the round before: warm
                previous = took;
            }
        }
        System.out.printf("warm-up: %d completions (SSE and WebSocket) in %.1f s%n", done, (System.nanoTime() - t0) / 1e9);
    }

    /** One streamed completion over SSE; null when it was valid. */
    static String sse(HttpClient http, URI base, Prompts.Request r) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(Prompts.sseBody(r))).build();
        HttpResponse<java.util.stream.Stream<String>> resp = http.send(req, HttpResponse.BodyHandlers.ofLines());
        if (resp.statusCode() != 200) return "HTTP " + resp.statusCode();
        StreamValidator v = new StreamValidator(true);
        boolean[] doneSeen = {false};
        try (var lines = resp.body()) {
            lines.filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).forEach(data -> {
                if (data.equals("[DONE]")) {
                    doneSeen[0] = true;
                    return;
                }
                StreamValidator.Frame f = StreamValidator.parseSse("{\"data\":" + data + "}");
                if (f.kind() == StreamValidator.Kind.CHUNK) v.accept(f.chunk(), System.currentTimeMillis());
                else v.fail(f.error());
            });
        }
        if (!doneSeen[0]) return "no [DONE]";
        return v.verdictCompleted();
    }

    /** One completion over a WebSocket of its own; null when it was valid. */
    static String webSocket(HttpClient http, LoadParams params, Prompts.Request r) throws Exception {
        CompletableFuture<String> result = new CompletableFuture<>();
        StreamValidator v = new StreamValidator(true);
        StringBuilder partial = new StringBuilder();
        WebSocket.Listener listener = new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    StreamValidator.Frame f = StreamValidator.parseWs(partial.toString());
                    partial.setLength(0);
                    switch (f.kind()) {
                        case CHUNK -> v.accept(f.chunk(), System.currentTimeMillis());
                        case DONE -> result.complete(v.verdictCompleted());
                        default -> result.complete(f.error() != null ? f.error() : "unexpected " + f.kind());
                    }
                }
                ws.request(1);
                return null;
            }

            @Override
            public void onError(WebSocket ws, Throwable error) {
                result.complete("socket error: " + error);
            }
        };
        WebSocket ws = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5))
                .buildAsync(URI.create(params.wsBaseUrl() + "/v1/stream"), listener).get(10, TimeUnit.SECONDS);
        try {
            ws.sendText(Prompts.wsFrame("warmup-" + r.number(), r), true).get(10, TimeUnit.SECONDS);
            return result.get(60, TimeUnit.SECONDS);
        } finally {
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(5, TimeUnit.SECONDS);
        }
    }
}
