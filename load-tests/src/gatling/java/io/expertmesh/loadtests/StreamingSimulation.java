package io.expertmesh.loadtests;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.bodyString;
import static io.gatling.javaapi.core.CoreDsl.constantConcurrentUsers;
import static io.gatling.javaapi.core.CoreDsl.constantUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.details;
import static io.gatling.javaapi.core.CoreDsl.doIfOrElse;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.exitBlockOnFail;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.group;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.sse;
import static io.gatling.javaapi.http.HttpDsl.ws;

import io.gatling.http.action.sse.SseInboundMessage;
import io.gatling.http.action.ws.WsInboundMessage;
import io.gatling.javaapi.core.Assertion;
import io.gatling.javaapi.core.ChainBuilder;
import io.gatling.javaapi.core.CheckBuilder;
import io.gatling.javaapi.core.PopulationBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Session;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Streaming chat completions against an ExpertMesh server, over SSE ({@code POST /v1/chat/completions} with
 * {@code "stream": true}) and over the WebSocket {@code /v1/stream}; parameters in {@link LoadParams}.
 *
 * <p>Each completion is a group, {@code sse request} or {@code ws request}, that is KO when any check fails or
 * times out or when any chunk breaks the serving contract ({@link StreamValidator}). Inside it Gatling records
 * the time to first token: for SSE the group {@code sse ttft} (its cumulated time is the POST's time to the
 * response headers plus the wait for the first chunk with text or a finish_reason after them); for the
 * WebSocket the check {@code ws ttft} (frame sent to first such chunk). The gaps between text chunks, taken from
 * the arrival time Gatling stamps on every buffered message, go to {@link ClientStats}.
 *
 * <p>A WebSocket user opens one socket and runs {@code wsRequestsPerSocket} completions on it one after
 * another; {@code wsCancelPercent} of them ask for {@code cancelTokens} tokens with {@code min_tokens} as high
 * and are cancelled after their first token ({@code {"type":"cancel"}}; the server must answer
 * {@code {"done":true,"cancelled":true}} and send nothing more for that id).
 *
 * <p>Every wait is bounded by {@code timeout}, every loop by its count, and the run by {@link LoadParams#maxDuration()}.
 */
public class StreamingSimulation extends Simulation {
    private static final LoadParams P = LoadParams.fromSystemProperties();
    private static final ClientStats STATS = new ClientStats();
    /** A message and when it arrived (ms). */
    private record Arrival(long at, String message) {}

    /**
     * The frames of each WebSocket user's current completion, in arrival order. While a check waits, Gatling
     * drops the frames it does not match (for SSE it buffers them), so the WebSocket matchers log every frame
     * they are shown here; frames that arrive while no check waits are buffered and appended by
     * {@link #logBufferedWs}.
     */
    private static final ConcurrentHashMap<Long, List<Arrival>> WS_FRAMES = new ConcurrentHashMap<>();
    private final Prompts prompts = new Prompts(P);

    private final HttpProtocolBuilder protocol = http
            .baseUrl(P.baseUrl().toString())
            .wsBaseUrl(P.wsBaseUrl())
            .disableWarmUp()
            .userAgentHeader("expertmesh-loadtest")
            .sseUnmatchedInboundMessageBufferSize(bufferSize())
            .wsUnmatchedInboundMessageBufferSize(bufferSize());

    // ---- SSE: one completion per virtual user --------------------------------------------------------

    private final ChainBuilder sseCompletion = exec(session -> {
                Prompts.Request r = prompts.next();
                long now = System.currentTimeMillis();
                STATS.started("sse", now);
                return session.set("body", Prompts.sseBody(r)).set("t0", now);
            })
            .group("sse request").on(
                    exitBlockOnFail().on(
                            group("sse ttft").on(
                                    exec(sse("sse connect").post("/v1/chat/completions")
                                            .header("Content-Type", "application/json")
                                            .body(StringBody("#{body}"))
                                            .await(P.timeout()).on(
                                                    sse.checkMessage("sse first token")
                                                            .matching(bodyString().validate("not the role chunk", StreamingSimulation::notSseRoleChunk))
                                                            .check(sseFirstTokenChecks())))),
                            // setCheck empties Gatling's buffer of unmatched messages: keep them first
                            sse.processUnmatchedMessages(StreamingSimulation::keepEarlySse),
                            exec(sse("sse stream").setCheck().await(P.timeout()).on(
                                    sse.checkMessage("sse [DONE]").matching(bodyString().is(StreamValidator.SSE_DONE)))),
                            sse.processUnmatchedMessages(StreamingSimulation::validateSse),
                            exec(StreamingSimulation::failOnVerdict)))
            .exec(sse("sse close").close())
            .exec(session -> record("sse", session));

    // ---- WebSocket: one socket per virtual user, several completions on it ----------------------------

    private final ChainBuilder wsCompletion = exec(ws.processUnmatchedMessages(StreamingSimulation::strayFrames)).exec(session -> {
                boolean cancel = new SplittableRandom(P.seed() ^ (session.userId() * 31 + session.getInt("k"))).nextInt(100) < P.wsCancelPercent();
                Prompts.Request r = cancel ? prompts.nextToCancel() : prompts.next();
                String id = "u" + session.userId() + "-" + session.getInt("k");
                long now = System.currentTimeMillis();
                STATS.started("ws", now);
                WS_FRAMES.put(session.userId(), new ArrayList<>());
                return session.set("id", id).set("cancel", cancel).set("t0", now)
                        .set("frame", Prompts.wsFrame(id, r)).set("cancelFrame", Prompts.wsCancel(id));
            })
            .group("ws request").on(
                    exitBlockOnFail().on(
                            doIfOrElse(session -> session.getBoolean("cancel")).then(
                                    exec(ws("ws send").sendText("#{frame}").await(P.timeout()).on(wsFirstToken())),
                                    // sending a frame empties Gatling's buffer of unmatched frames: log them first
                                    ws.processUnmatchedMessages(StreamingSimulation::logBufferedWs),
                                    exec(ws("ws cancel").sendText("#{cancelFrame}").await(P.timeout()).on(
                                            ws.checkTextMessage("ws cancelled")
                                                    .matching(bodyString().validate("the last frame of #{id}", StreamingSimulation::isWsTerminal))
                                                    .check(bodyString().validate("a cancelled acknowledgement", StreamingSimulation::isWsCancelled))))
                            ).orElse(
                                    exec(ws("ws send").sendText("#{frame}")
                                            .await(P.timeout()).on(wsFirstToken())
                                            .await(P.timeout()).on(
                                                    ws.checkTextMessage("ws done")
                                                            .matching(bodyString().validate("the last frame of #{id}", StreamingSimulation::isWsTerminal))
                                                            .check(bodyString().validate("done", StreamingSimulation::isWsDone))))),
                            ws.processUnmatchedMessages(StreamingSimulation::logBufferedWs),
                            exec(StreamingSimulation::validateWs),
                            exec(StreamingSimulation::failOnVerdict)))
            .exec(session -> record("ws", session));

    private final ChainBuilder wsSocket = exec(ws("ws connect").connect("/v1/stream"))
            .repeat(P.wsRequestsPerSocket(), "k").on(wsCompletion)
            .exec(ws("ws close").close());

    {
        STATS.params.putAll(P.toJson());
        List<PopulationBuilder> populations = new ArrayList<>();
        List<Assertion> assertions = new ArrayList<>();
        assertions.add(global().failedRequests().count().lte(P.maxKo()));
        int bound = (int) Math.min(Integer.MAX_VALUE, P.ttftP99Ms());
        if (P.runsSse()) {
            ScenarioBuilder s = scenario("sse").exec(sseCompletion);
            populations.add(P.openModel()
                    ? s.injectOpen(constantUsersPerSec(P.sseRate()).during(P.duration()))
                    : s.injectClosed(constantConcurrentUsers(P.sseUsers()).during(P.duration())));
            assertions.add(details("sse request").failedRequests().count().lte(P.maxKo()));
            assertions.add(details("sse request", "sse ttft").responseTime().percentile(99.0).lt(bound));
        }
        if (P.runsWs() && (P.openModel() ? P.wsRate() > 0 : P.wsUsers() > 0)) {
            ScenarioBuilder s = scenario("ws").exec(wsSocket);
            populations.add(P.openModel()
                    ? s.injectOpen(constantUsersPerSec(P.wsRate() / P.wsRequestsPerSocket()).during(P.duration()))
                    : s.injectClosed(constantConcurrentUsers(P.wsUsers()).during(P.duration())));
            assertions.add(details("ws request").failedRequests().count().lte(P.maxKo()));
            assertions.add(details("ws request", "ws ttft").responseTime().percentile(99.0).lt(bound));
        }
        setUp(populations).protocols(protocol).assertions(assertions).maxDuration(P.maxDuration());
    }

    @Override
    public void before() {
        System.out.println("loadtest: " + P.describe() + " against " + P.baseUrl());
    }

    @Override
    public void after() {
        try {
            STATS.write(Path.of(P.clientStats()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int bufferSize() {
        return Math.max(P.maxTokensMax(), P.cancelTokens()) * 2 + 64;
    }

    /** Saves the first-token message and when it arrived (the check runs as it is received), and checks it is a chunk. */
    private static List<CheckBuilder> sseFirstTokenChecks() {
        return List.of(
                bodyString().validate("a valid chunk", (s, session) -> {
                    StreamValidator.Frame f = StreamValidator.parseSse(s);
                    if (f.kind() != StreamValidator.Kind.CHUNK) {
                        throw new IllegalStateException(f.error() != null ? f.error() : "expected a chunk, got " + f.kind());
                    }
                    return s;
                }).saveAs("firstMsg"),
                bodyString().transform(s -> System.currentTimeMillis()).saveAs("firstAt"));
    }

    private static io.gatling.javaapi.http.WsFrameCheck.Text wsFirstToken() {
        return ws.checkTextMessage("ws ttft")
                .matching(bodyString().validate("the first chunk with text of #{id}", StreamingSimulation::isWsFirstToken))
                .check(bodyString().validate("a chunk", StreamingSimulation::isWsChunk));
    }

    private static String notSseRoleChunk(String s, Session session) {
        StreamValidator.Frame f = StreamValidator.parseSse(s);
        if (f.kind() == StreamValidator.Kind.CHUNK && StreamValidator.isRoleChunk(f.chunk())) throw new IllegalStateException("role chunk");
        return s;
    }

    private static void logWs(String frame, Session session) {
        List<Arrival> log = WS_FRAMES.get(session.userId());
        if (log != null) log.add(new Arrival(System.currentTimeMillis(), frame));
    }

    private static boolean isMine(StreamValidator.Frame f, Session session) {
        return session.getString("id").equals(f.clientId()) || (f.kind() == StreamValidator.Kind.ERROR && f.clientId() == null);
    }

    /** Matches the first frame of this request that is not its role chunk (or an error about it); logs every frame. */
    private static String isWsFirstToken(String s, Session session) {
        logWs(s, session);
        StreamValidator.Frame f = StreamValidator.parseWs(s);
        if (!isMine(f, session) || (f.kind() == StreamValidator.Kind.CHUNK && StreamValidator.isRoleChunk(f.chunk()))) {
            throw new IllegalStateException("not yet");
        }
        return s;
    }

    /** Matches a frame that ends this request: done, cancelled or an error; logs every frame. */
    private static String isWsTerminal(String s, Session session) {
        logWs(s, session);
        StreamValidator.Frame f = StreamValidator.parseWs(s);
        if (!isMine(f, session) || f.kind() == StreamValidator.Kind.CHUNK) throw new IllegalStateException("not yet");
        return s;
    }

    private static String isWsChunk(String s, Session session) {
        StreamValidator.Frame f = StreamValidator.parseWs(s);
        if (f.kind() != StreamValidator.Kind.CHUNK) throw new IllegalStateException(f.error() != null ? f.error() : "expected a chunk, got " + f.kind());
        return s;
    }

    private static String isWsDone(String s, Session session) {
        StreamValidator.Frame f = StreamValidator.parseWs(s);
        if (f.kind() != StreamValidator.Kind.DONE) throw new IllegalStateException(f.error() != null ? f.error() : "expected done, got " + f.kind());
        return s;
    }

    private static String isWsCancelled(String s, Session session) {
        StreamValidator.Frame f = StreamValidator.parseWs(s);
        if (f.kind() != StreamValidator.Kind.CANCELLED) {
            throw new IllegalStateException(f.error() != null ? f.error() : "expected done+cancelled, got " + f.kind());
        }
        return s;
    }

    /** Frames that arrived between two completions on a socket (after a done or a cancel) are an error. */
    private static Session strayFrames(List<WsInboundMessage> messages, Session session) {
        if (messages.isEmpty()) return session;
        String first = messages.getFirst() instanceof WsInboundMessage.Text t ? t.message() : "<binary frame>";
        return session.set("stray", messages.size() + " frame(s) between two requests, the first " + StreamValidator.abbreviate(first));
    }

    private static Session logBufferedWs(List<WsInboundMessage> messages, Session session) {
        List<Arrival> log = WS_FRAMES.get(session.userId());
        for (WsInboundMessage m : messages) {
            String text = m instanceof WsInboundMessage.Text t ? t.message() : "<binary frame>";
            if (log != null) log.add(new Arrival(m.timestamp(), text));
        }
        return session;
    }

    /** Keeps the SSE messages buffered up to the first-token check (the role chunk, and any that came after it). */
    private static Session keepEarlySse(List<SseInboundMessage> messages, Session session) {
        return session.set("early", messages.stream().map(m -> new Arrival(m.timestamp(), m.message())).toList());
    }

    /**
     * Replays the whole SSE stream in arrival order: the role chunk(s) kept before {@code setCheck}, the
     * first-token message, the rest of the kept messages, then those buffered while waiting for {@code [DONE]}.
     */
    private static Session validateSse(List<SseInboundMessage> messages, Session session) {
        StreamValidator v = new StreamValidator(true);
        List<Arrival> early = session.getList("early");
        int i = 0;
        for (; i < early.size(); i++) {
            StreamValidator.Frame f = StreamValidator.parseSse(early.get(i).message());
            if (f.kind() != StreamValidator.Kind.CHUNK || !StreamValidator.isRoleChunk(f.chunk())) break;
            v.accept(f.chunk(), early.get(i).at());
        }
        feed(v, StreamValidator.parseSse(session.getString("firstMsg")), session.getLong("firstAt"), null);
        List<Arrival> rest = new ArrayList<>(early.subList(i, early.size()));
        messages.forEach(m -> rest.add(new Arrival(m.timestamp(), m.message())));
        for (Arrival a : rest) {
            StreamValidator.Frame f = StreamValidator.parseSse(a.message());
            if (f.kind() == StreamValidator.Kind.DONE) v.fail("a second [DONE]");
            else feed(v, f, a.at(), null);
        }
        return results(session, v, v.verdictCompleted());
    }

    /** Replays this WebSocket request's frames in arrival order; a frame of any other request is an error. */
    private static Session validateWs(Session session) {
        String id = session.getString("id");
        boolean cancel = session.getBoolean("cancel");
        StreamValidator v = new StreamValidator(!cancel);
        if (session.contains("stray")) v.fail(session.getString("stray"));
        List<Arrival> log = WS_FRAMES.getOrDefault(session.userId(), List.of());
        long firstAt = -1;
        boolean ended = false;
        for (Arrival a : log) {
            StreamValidator.Frame f = StreamValidator.parseWs(a.message());
            if (ended) {
                v.fail("a frame after the request ended: " + StreamValidator.abbreviate(a.message()));
            } else if (f.kind() == StreamValidator.Kind.DONE || f.kind() == StreamValidator.Kind.CANCELLED) {
                if (!id.equals(f.clientId())) v.fail("a frame for request " + f.clientId() + " while " + id + " was running");
                ended = true;
            } else {
                if (firstAt < 0 && f.kind() == StreamValidator.Kind.CHUNK && id.equals(f.clientId()) && !StreamValidator.isRoleChunk(f.chunk())) {
                    firstAt = a.at();
                }
                feed(v, f, a.at(), id);
            }
        }
        Session s = firstAt >= 0 ? session.set("firstAt", firstAt) : session;
        return results(s, v, cancel ? v.verdictCancelled() : v.verdictCompleted());
    }

    private static void feed(StreamValidator v, StreamValidator.Frame f, long timestamp, String wsId) {
        if (wsId != null && f.clientId() != null && !wsId.equals(f.clientId())) {
            v.fail("a frame for request " + f.clientId() + " while " + wsId + " was running");
        } else if (f.kind() == StreamValidator.Kind.CHUNK) {
            v.accept(f.chunk(), timestamp);
        } else {
            v.fail(f.error() != null ? f.error() : "unexpected " + f.kind() + " in the stream");
        }
    }

    private static Session results(Session session, StreamValidator v, String verdict) {
        long tokens = v.completionTokens() >= 0 ? v.completionTokens() : v.contentChunks();
        Session s = session.set("tokens", tokens).set("contentTimes", v.contentTimes());
        return verdict == null ? s.remove("verdict") : s.set("verdict", verdict);
    }

    private static Session failOnVerdict(Session session) {
        return session.contains("verdict") ? session.markAsFailed() : session;
    }

    /** Records the finished completion in {@link ClientStats} and clears its attributes for the next one. */
    private static Session record(String transport, Session session) {
        String error = null;
        if (session.contains("verdict")) error = session.getString("verdict");
        else if (session.isFailed() || !session.contains("contentTimes")) error = ClientStats.GATLING_KO;
        boolean cancelled = session.contains("cancel") && session.getBoolean("cancel") && error == null;
        long ttft = session.contains("firstAt") ? session.getLong("firstAt") - session.getLong("t0") : -1;
        long tokens = session.contains("tokens") ? session.getLong("tokens") : 0;
        List<Long> times = session.contains("contentTimes") ? session.getList("contentTimes") : List.of();
        STATS.finished(transport, System.currentTimeMillis(), error, cancelled, ttft, tokens, times);
        WS_FRAMES.remove(session.userId());
        return session.removeAll("early", "stray", "verdict", "firstMsg", "firstAt", "tokens", "contentTimes", "t0", "body", "frame", "cancelFrame", "cancel", "id")
                .markAsSucceeded();
    }
}
