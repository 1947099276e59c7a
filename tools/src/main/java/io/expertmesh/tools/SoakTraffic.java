package io.expertmesh.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.model.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The soak's load on one server: {@code streams} healthy streamed chat completions at all times, each
 * worker alternating SSE and WebSocket, and one worker sending bad inputs in turn, each of which must get
 * its documented answer. Every request ends as one {@link Result}; a {@link Result#LOST} one inside a
 * kill window is counted apart, since a kill is allowed to cost streams.
 */
final class SoakTraffic {
    /** A healthy stream that has not ended after this long is lost. */
    static final Duration STREAM_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration BAD_INPUT_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration BAD_INPUT_PAUSE = Duration.ofMillis(500);
    /** After a lost stream a worker waits this long, so that a server that is down is not hammered. */
    private static final Duration AFTER_LOSS_PAUSE = Duration.ofSeconds(1);
    /** The documented default of expertmesh.http.max-body-size; the oversize body goes over it. */
    private static final int MAX_BODY_BYTES = 1 << 20;
    /** Tokens a stream that a client abandons asks for, so that it is still running when the client goes. */
    private static final int ABANDONED_TOKENS = 256;
    // A fixed set of prompts, greedy or with a fixed seed: the same requests recur, so the prefix cache
    // reaches a steady size during warm-up instead of growing with every new prompt.
    private static final List<String> PROMPTS = List.of("Hello!", "What is a mixture of experts?", "Write a haiku about the sea.",
            "Count from one to ten.", "Why is the sky blue?", "Name three prime numbers.", "Say something kind.",
            "Explain a KV cache in one sentence.");

    /** What a request's answer was. */
    enum Result {
        /** the documented answer */
        OK,
        /** an answer that breaks the contract (wrong status, malformed chunks, ...): always a failure */
        KO,
        /** a healthy stream that ended with an error, a dropped connection or no end in time */
        LOST,
        /** LOST inside a kill window */
        LOST_IN_KILL_WINDOW
    }

    /** Who sent a request. */
    enum Kind { SSE, WEBSOCKET, BAD_INPUT }

    /** When (seconds into the load) a request ended badly, and how. */
    record Failure(double atSeconds, Kind kind, Result result, String detail) {}

    private static final int KEPT_FAILURES = 20;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    private final URI base;
    private final int maxTokens;
    private final KillWindows windows;
    private final long startNanos;
    private volatile long endNanos;
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final List<Future<?>> workers = new ArrayList<>();
    private final Map<Kind, EnumMap<Result, Long>> counts = new EnumMap<>(Kind.class);
    private final Map<String, Long> badInputOk = new LinkedHashMap<>();
    private final List<Failure> failures = new ArrayList<>();
    private long failureCount;

    SoakTraffic(URI base, int maxTokens, KillWindows windows, long startNanos, Duration duration) {
        this.base = base;
        this.maxTokens = maxTokens;
        this.windows = windows;
        this.startNanos = startNanos;
        this.endNanos = startNanos + duration.toNanos();
        for (Kind k : Kind.values()) {
            EnumMap<Result, Long> m = new EnumMap<>(Result.class);
            for (Result r : Result.values()) m.put(r, 0L);
            counts.put(k, m);
        }
    }

    /** Starts {@code streams} healthy workers and the bad-input worker; each stops starting requests at the load's end. */
    void start(int streams) {
        for (int i = 0; i < streams; i++) {
            int worker = i;
            workers.add(threads.submit(() -> healthyWorker(worker)));
        }
        workers.add(threads.submit(this::badInputWorker));
    }

    /** Ends the load now (a node died): workers start nothing more. */
    void stopEarly() {
        endNanos = Math.min(endNanos, System.nanoTime());
    }

    /** Waits for the requests in flight to end; each is bounded by its own timeout. */
    void awaitEnd() throws InterruptedException {
        for (Future<?> w : workers) {
            try {
                w.get(STREAM_TIMEOUT.plus(BAD_INPUT_TIMEOUT).toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                throw new IllegalStateException("a load worker failed: " + e.getCause(), e.getCause());
            } catch (TimeoutException e) {
                w.cancel(true);
            }
        }
        threads.shutdownNow();
    }

    synchronized long count(Kind kind, Result result) {
        return counts.get(kind).get(result);
    }

    synchronized long healthy(Result result) {
        return counts.get(Kind.SSE).get(result) + counts.get(Kind.WEBSOCKET).get(result);
    }

    /** The first failures, at most {@value #KEPT_FAILURES}, and how many there were in all. */
    synchronized List<Failure> failures() {
        return List.copyOf(failures);
    }

    synchronized long failureCount() {
        return failureCount;
    }

    /** Bad inputs answered as documented, by case. */
    synchronized Map<String, Long> badInputOk() {
        return new LinkedHashMap<>(badInputOk);
    }

    /** Whether the load is still on: workers start requests only while it is. */
    boolean loadRunning() {
        return System.nanoTime() < endNanos;
    }

    private synchronized void record(Kind kind, Result result, String what, String detail) {
        long now = System.nanoTime();
        if (result == Result.LOST && windows.contains(now)) result = Result.LOST_IN_KILL_WINDOW;
        counts.get(kind).merge(result, 1L, Long::sum);
        if (result == Result.OK) {
            if (kind == Kind.BAD_INPUT) badInputOk.merge(what, 1L, Long::sum);
            return;
        }
        failureCount++;
        if (failures.size() < KEPT_FAILURES) failures.add(new Failure((now - startNanos) / 1e9, kind, result, what + ": " + detail));
    }

    // ---------------------------------------------------------------- healthy streams

    private void healthyWorker(int worker) {
        WsConnection ws = null;
        try {
            for (int round = 0; loadRunning(); round++) {
                int prompt = (worker * 3 + round) % PROMPTS.size();
                Outcome o;
                Kind kind;
                if ((worker + round) % 2 == 0) {
                    kind = Kind.SSE;
                    o = sse(healthyBody(prompt).put("stream", true));
                } else {
                    kind = Kind.WEBSOCKET;
                    if (ws == null || !ws.open()) {
                        if (ws != null) ws.abort();
                        ws = WsConnection.open(http, wsUri());
                    }
                    o = ws == null ? new Outcome(Result.LOST, "cannot open the WebSocket")
                            : webSocket(ws, "w" + worker + "-" + round, healthyBody(prompt));
                    if (o.result() != Result.OK && ws != null) {
                        ws.abort();  // it may still carry frames of the failed request
                        ws = null;
                    }
                }
                record(kind, o.result(), kind == Kind.SSE ? "SSE stream" : "WebSocket stream", o.detail());
                if (o.result() != Result.OK) Thread.sleep(AFTER_LOSS_PAUSE);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (ws != null) ws.close();
        }
    }

    private record Outcome(Result result, String detail) {
        static final Outcome OK = new Outcome(Result.OK, "");
    }

    private ObjectNode healthyBody(int prompt) {
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.putArray("messages").addObject().put("role", "user").put("content", PROMPTS.get(prompt));
        body.put("max_tokens", maxTokens);
        // Half greedy, half sampled with a fixed seed: both give the same tokens every time.
        if (prompt % 2 == 0) body.put("temperature", 0);
        else body.put("temperature", 0.8).put("seed", prompt);
        body.putObject("stream_options").put("include_usage", true);
        return body;
    }

    private Outcome sse(ObjectNode body) throws InterruptedException {
        CompletableFuture<HttpResponse<String>> f = http.sendAsync(post("/v1/chat/completions", body.toString()), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> r;
        try {
            r = f.get(STREAM_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            return new Outcome(Result.LOST, "no end within " + STREAM_TIMEOUT.toSeconds() + " s");
        } catch (ExecutionException e) {
            return new Outcome(Result.LOST, "connection failed: " + e.getCause());
        }
        if (r.statusCode() != 200) return refused(r.statusCode(), r.body());
        List<String> data = new ArrayList<>();
        for (String line : r.body().split("\n")) {
            if (line.startsWith("data: ")) data.add(line.substring("data: ".length()));
            else if (!line.isEmpty()) return new Outcome(Result.KO, "a line that is not an SSE data line: " + clip(line));
        }
        if (data.isEmpty() || !data.getLast().equals("[DONE]")) return new Outcome(Result.LOST, "the stream ended without [DONE]");
        List<JsonNode> chunks = new ArrayList<>();
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode chunk = parse(d);
            if (chunk == null) return new Outcome(Result.KO, "an event that is not JSON: " + clip(d));
            if (chunk.has("error")) return new Outcome(Result.LOST, "error event " + clip(d));
            chunks.add(chunk);
        }
        String violation = StreamContract.violation(chunks, maxTokens);
        return violation == null ? Outcome.OK : new Outcome(Result.KO, violation);
    }

    /** A healthy request refused: overload or a server failure is a lost stream; any other status breaks the contract. */
    private static Outcome refused(int status, String body) {
        boolean serverSide = status == 429 || status >= 500;
        return new Outcome(serverSide ? Result.LOST : Result.KO, "status " + status + " " + clip(body));
    }

    private Outcome webSocket(WsConnection ws, String id, ObjectNode body) throws InterruptedException {
        ObjectNode frame = Json.MAPPER.createObjectNode().put("type", "chat.completions").put("id", id);
        frame.set("body", body);
        if (!ws.send(frame.toString())) return new Outcome(Result.LOST, "cannot send on the WebSocket");
        long deadline = System.nanoTime() + STREAM_TIMEOUT.toNanos();
        List<JsonNode> chunks = new ArrayList<>();
        while (true) {
            String text = ws.next(deadline);
            if (text == null) return new Outcome(Result.LOST, "no end within " + STREAM_TIMEOUT.toSeconds() + " s");
            if (WsConnection.CLOSED.equals(text)) return new Outcome(Result.LOST, "the WebSocket closed mid-stream");
            JsonNode m = parse(text);
            if (m == null) return new Outcome(Result.KO, "a frame that is not JSON: " + clip(text));
            if (!id.equals(m.path("id").asText(null))) return new Outcome(Result.KO, "a frame for another id: " + clip(text));
            if (m.has("error")) return new Outcome(Result.LOST, "error frame " + clip(text));
            if (m.has("chunk")) {
                chunks.add(m.get("chunk"));
            } else if (m.path("done").asBoolean() && !m.has("cancelled")) {
                String violation = StreamContract.violation(chunks, maxTokens);
                return violation == null ? Outcome.OK : new Outcome(Result.KO, violation);
            } else {
                return new Outcome(Result.KO, "an unexpected frame: " + clip(text));
            }
        }
    }

    // ---------------------------------------------------------------- bad inputs

    /** A bad HTTP request and the answer docs/http-api.md documents for it. */
    private record BadRequest(String name, String body, int status, String type, String param) {}

    private static final String HI = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
    private static final List<BadRequest> BAD_REQUESTS = List.of(
            new BadRequest("malformed JSON", "{\"messages\": [", 400, "invalid_request_error", null),
            new BadRequest("max_tokens of the wrong type", "{" + HI + ",\"max_tokens\":\"ten\",\"stream\":true}", 400, "invalid_request_error",
                    "max_tokens"),
            new BadRequest("temperature 1e-45", "{" + HI + ",\"temperature\":1e-45,\"stream\":true}", 400, "invalid_request_error", "temperature"),
            new BadRequest("max_tokens 2000000000", "{" + HI + ",\"max_tokens\":2000000000,\"stream\":true}", 400, "invalid_request_error",
                    "max_tokens"),
            new BadRequest("max_tokens beyond the context", "{" + HI + ",\"max_tokens\":1000000,\"stream\":true}", 400, "invalid_request_error",
                    "max_tokens"),
            new BadRequest("body over 1 MiB", "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(MAX_BODY_BYTES) + "\"}]}", 413,
                    "invalid_request_error", null),
            new BadRequest("unknown model", "{\"model\":\"no-such-model\"," + HI + ",\"stream\":true}", 404, "not_found_error", null));

    /** The names of every bad input, in the order they are sent. */
    static List<String> badInputNames() {
        List<String> names = new ArrayList<>(BAD_REQUESTS.stream().map(BadRequest::name).toList());
        names.addAll(List.of("WebSocket frame that is not JSON", "SSE client gone mid-stream", "WebSocket closed mid-stream"));
        return names;
    }

    private void badInputWorker() {
        int cases = badInputNames().size();
        try {
            for (int i = 0; loadRunning(); i++) {
                int c = i % cases;
                String name = badInputNames().get(c);
                Future<Outcome> f = threads.submit(() -> badInput(c));
                Outcome o;
                try {
                    o = f.get(BAD_INPUT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    f.cancel(true);
                    o = new Outcome(Result.KO, "no answer within " + BAD_INPUT_TIMEOUT.toSeconds() + " s");
                } catch (ExecutionException e) {
                    o = new Outcome(Result.KO, String.valueOf(e.getCause()));
                }
                record(Kind.BAD_INPUT, o.result(), name, o.detail());
                Thread.sleep(BAD_INPUT_PAUSE);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Outcome badInput(int c) throws IOException, InterruptedException {
        if (c < BAD_REQUESTS.size()) return badRequest(BAD_REQUESTS.get(c));
        return switch (c - BAD_REQUESTS.size()) {
            case 0 -> frameThatIsNotJson();
            case 1 -> sseClientGone();
            default -> webSocketClosedMidStream();
        };
    }

    private Outcome badRequest(BadRequest bad) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(post("/v1/chat/completions", bad.body()), HttpResponse.BodyHandlers.ofString());
        String problem = errorProblem(r.statusCode() == bad.status() ? parse(r.body()) : null, bad.type(), bad.param());
        if (r.statusCode() != bad.status() || problem != null) {
            return new Outcome(Result.KO, "expected " + bad.status() + " " + bad.type() + (bad.param() == null ? "" : " naming " + bad.param())
                    + ", got " + r.statusCode() + " " + clip(r.body()));
        }
        return Outcome.OK;
    }

    /** What is wrong with an OpenAI-style error object, or null. */
    private static String errorProblem(JsonNode answer, String type, String param) {
        if (answer == null) return "not JSON";
        JsonNode error = answer.path("error");
        if (error.path("message").asText("").isEmpty()) return "no error message";
        if (!type.equals(error.path("type").asText())) return "type " + error.path("type");
        boolean paramOk = param == null ? error.path("param").isNull() : param.equals(error.path("param").asText());
        return paramOk ? null : "param " + error.path("param");
    }

    private Outcome frameThatIsNotJson() throws InterruptedException {
        WsConnection ws = WsConnection.open(http, wsUri());
        if (ws == null) return new Outcome(Result.KO, "cannot open the WebSocket");
        try {
            if (!ws.send("not json")) return new Outcome(Result.KO, "cannot send on the WebSocket");
            String text = ws.next(System.nanoTime() + BAD_INPUT_TIMEOUT.toNanos() / 2);
            JsonNode m = text == null || WsConnection.CLOSED.equals(text) ? null : parse(text);
            String problem = m == null || !m.has("id") || !m.get("id").isNull() ? "no error frame with \"id\":null"
                    : errorProblem(m, "invalid_request_error", null);
            if (problem != null) return new Outcome(Result.KO, problem + ": " + (text == null ? "no frame" : clip(text)));
            return ws.open() ? Outcome.OK : new Outcome(Result.KO, "the socket closed after the error frame");
        } finally {
            ws.close();
        }
    }

    /** A body that keeps generating for a while, so the client can leave mid-stream. */
    private static ObjectNode abandonedBody() {
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.putArray("messages").addObject().put("role", "user").put("content", "Tell me a long story.");
        body.put("max_tokens", ABANDONED_TOKENS).put("min_tokens", ABANDONED_TOKENS).put("temperature", 0);
        return body;
    }

    /** Reads up to the first text chunk, then closes the connection; the server must cancel the request (checked after the load). */
    private Outcome sseClientGone() throws IOException, InterruptedException {
        HttpResponse<InputStream> r = http.send(post("/v1/chat/completions", abandonedBody().put("stream", true).toString()),
                HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body();
             BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            if (r.statusCode() != 200) return refused(r.statusCode(), lines.readLine());
            String line;
            while ((line = lines.readLine()) != null) {
                if (!line.startsWith("data: ")) continue;
                JsonNode chunk = parse(line.substring("data: ".length()));
                if (chunk == null) return new Outcome(Result.KO, "an event that is not JSON: " + clip(line));
                if (chunk.has("error")) return new Outcome(Result.LOST, "error event " + clip(line));
                if (!chunk.path("choices").path(0).path("delta").path("content").asText("").isEmpty()) return Outcome.OK;
            }
            return new Outcome(Result.LOST, "the stream ended before its first text");
        }
    }

    private Outcome webSocketClosedMidStream() throws InterruptedException {
        WsConnection ws = WsConnection.open(http, wsUri());
        if (ws == null) return new Outcome(Result.KO, "cannot open the WebSocket");
        try {
            ObjectNode frame = Json.MAPPER.createObjectNode().put("type", "chat.completions").put("id", "gone");
            frame.set("body", abandonedBody());
            if (!ws.send(frame.toString())) return new Outcome(Result.KO, "cannot send on the WebSocket");
            long deadline = System.nanoTime() + BAD_INPUT_TIMEOUT.toNanos() / 2;
            while (true) {
                String text = ws.next(deadline);
                if (text == null) return new Outcome(Result.LOST, "no text within " + BAD_INPUT_TIMEOUT.toSeconds() / 2 + " s");
                if (WsConnection.CLOSED.equals(text)) return new Outcome(Result.LOST, "the WebSocket closed before the client did");
                JsonNode m = parse(text);
                if (m == null) return new Outcome(Result.KO, "a frame that is not JSON: " + clip(text));
                if (m.has("error")) return new Outcome(Result.LOST, "error frame " + clip(text));
                if (!m.path("chunk").path("choices").path(0).path("delta").path("content").asText("").isEmpty()) return Outcome.OK;
            }
        } finally {
            ws.abort();  // no close handshake: the client just goes
        }
    }

    // ---------------------------------------------------------------- plumbing

    private HttpRequest post(String path, String body) {
        return HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private URI wsUri() {
        return URI.create("ws://" + base.getHost() + ":" + base.getPort() + "/v1/stream");
    }

    private static JsonNode parse(String text) {
        try {
            JsonNode n = Json.MAPPER.readTree(text);
            return n != null && n.isObject() ? n : null;
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private static String clip(String s) {
        if (s == null) return "(nothing)";
        String one = s.strip().replace('\n', ' ');
        return one.length() > 200 ? one.substring(0, 200) + "..." : one;
    }

    /** One client WebSocket: whole text messages in a queue, then {@link #CLOSED} once it closes or fails. */
    private static final class WsConnection implements WebSocket.Listener {
        /** Stands for the end of the socket in the queue; no JSON message starts with a NUL. */
        static final String CLOSED = "\u0000closed";
        private final BlockingQueue<String> messages = new LinkedBlockingQueue<>();
        private final StringBuilder partial = new StringBuilder();
        private volatile boolean closed;
        private WebSocket socket;

        /** A connected socket, or null when it cannot be opened within 10 s. */
        static WsConnection open(HttpClient http, URI uri) throws InterruptedException {
            var c = new WsConnection();
            try {
                c.socket = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5)).buildAsync(uri, c).get(10, TimeUnit.SECONDS);
                return c;
            } catch (ExecutionException | TimeoutException e) {
                return null;
            }
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                messages.add(partial.toString());
                partial.setLength(0);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            ended();
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            ended();
        }

        private void ended() {
            closed = true;
            messages.add(CLOSED);
        }

        boolean open() {
            return !closed && !socket.isOutputClosed() && !socket.isInputClosed();
        }

        boolean send(String text) throws InterruptedException {
            try {
                socket.sendText(text, true).get(10, TimeUnit.SECONDS);
                return true;
            } catch (ExecutionException | TimeoutException e) {
                return false;
            }
        }

        /** The next whole message, {@link #CLOSED}, or null at the deadline. */
        String next(long deadlineNanos) throws InterruptedException {
            long left = deadlineNanos - System.nanoTime();
            return left <= 0 ? null : messages.poll(left, TimeUnit.NANOSECONDS);
        }

        void close() {
            if (open()) {
                try {
                    socket.sendClose(WebSocket.NORMAL_CLOSURE, "").get(5, TimeUnit.SECONDS);
                } catch (ExecutionException | TimeoutException e) {
                    socket.abort();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    socket.abort();
                }
            }
        }

        void abort() {
            socket.abort();
        }
    }
}
