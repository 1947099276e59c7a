package io.expertmesh.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.attention.Scheduler;
import io.expertmesh.attention.SequenceEvent;
import io.expertmesh.attention.ExpertLoad;
import io.expertmesh.attention.Placement;
import io.expertmesh.attention.PlacementView;
import io.expertmesh.gateway.api.ApiException;
import io.expertmesh.gateway.api.ChatOutputParser;
import io.expertmesh.gateway.api.DetokenizeRequest;
import io.expertmesh.gateway.api.Endpoint;
import io.expertmesh.gateway.api.GenerationRequest;
import io.expertmesh.gateway.api.LogprobsJson;
import io.expertmesh.gateway.api.OutputParsing;
import io.expertmesh.gateway.api.ParsedOutput;
import io.expertmesh.gateway.api.RequestParser;
import io.expertmesh.gateway.api.ResponseFormatter;
import io.expertmesh.gateway.api.TokenizeRequest;
import io.expertmesh.model.Json;
import io.expertmesh.model.generate.FinishReason;
import io.expertmesh.model.sampling.TokenLogprobs;
import io.expertmesh.model.tokenizer.Tokenizer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * The HTTP API: OpenAI-compatible completions (JSON or SSE), models, tokenize/detokenize, health,
 * metrics, cluster status, the WebSocket stream and the browser playground ({@link Playground}).
 * Every error is an OpenAI-style JSON body. Requests become {@link Scheduler.Submit}s whose events
 * are streamed back as they come; a client that goes away cancels its request.
 */
public final class HttpApi extends AllDirectives {
    static final String GUIDE_DISPATCHER = "expertmesh-guide-dispatcher";
    private static final ContentType EVENT_STREAM = ContentTypes.create(MediaTypes.TEXT_EVENT_STREAM);
    private static final ByteString DONE = ByteString.fromString("data: [DONE]\n\n");

    private final ActorSystem<?> system;
    private final ActorRef<Scheduler.Command> scheduler;
    private final ServedModel model;
    private final GatewaySettings settings;
    private final PlacementView placement;
    private final ExpertLoad expertLoad;
    private final PrometheusMeterRegistry registry;
    private final long created = Instant.now().getEpochSecond();
    private final AtomicBoolean draining = new AtomicBoolean();
    /** Compiles guides, so that neither an HTTP nor a WebSocket thread waits for a large schema. */
    private final Executor guideCompiler;
    private final Playground playground = new Playground();
    /** Origins whose pages may POST or open the WebSocket; set again once the port is bound. */
    private volatile Set<String> allowedOrigins;

    public HttpApi(ActorSystem<?> system, ActorRef<Scheduler.Command> scheduler, ServedModel model, GatewaySettings settings,
                   PlacementView placement, ExpertLoad expertLoad, PrometheusMeterRegistry registry) {
        this.system = system;
        this.scheduler = scheduler;
        this.model = model;
        this.settings = settings;
        this.placement = placement;
        this.expertLoad = expertLoad;
        this.registry = registry;
        this.guideCompiler = system.dispatchers().lookup(DispatcherSelector.fromConfig(GUIDE_DISPATCHER));
        this.allowedOrigins = settings.port() == 0 ? Set.copyOf(settings.allowedOrigins()) : allowedOrigins(settings.port());
    }

    /** Listens on the configured host and port ({@link HttpServer}); the bound port completes the server's own origins. */
    public CompletionStage<HttpServer.Binding> bind() {
        return new HttpServer(system, settings).bind(routes().flow(system)).thenApply(binding -> {
            allowedOrigins = allowedOrigins(binding.localAddress().getPort());
            return binding;
        });
    }

    /** The configured origins and the server's own on {@code port}: its listening host and the loopback names. */
    private Set<String> allowedOrigins(int port) {
        Set<String> origins = new HashSet<>(settings.allowedOrigins());
        for (String host : List.of(settings.host(), "127.0.0.1", "localhost", "::1")) {
            origins.add("http://" + (host.contains(":") ? "[" + host + "]" : host).toLowerCase(Locale.ROOT) + ":" + port);
        }
        return Set.copyOf(origins);
    }

    /** From now on new requests get 503; requests already accepted keep streaming. */
    public void stopAdmitting() {
        draining.set(true);
    }

    public Route routes() {
        return handleExceptions(GatewayErrors.exceptions(), () -> handleRejections(GatewayErrors.rejections(), () -> concat(
                path("health", () -> get(() -> complete(health()))),
                path("metrics", () -> get(() -> complete(HttpResponse.create().withEntity(
                        ContentTypes.create(MediaTypes.TEXT_PLAIN, HttpCharsets.UTF_8),
                        registry.scrape())))),
                playground.route(),
                path(PathMatchers.segment("v1").slash("stream"), () -> get(() -> allowedOrigin(() -> socketAuthorized(() -> handleWebSocketMessages(
                        StreamSocket.flow(system, scheduler, model, settings, draining, guideCompiler)))))),
                allowedOrigin(() -> authorized(() -> concat(
                        path(PathMatchers.segment("v1").slash("chat").slash("completions"),
                                () -> post(() -> withBody(body -> generate(Endpoint.CHAT, body)))),
                        path(PathMatchers.segment("v1").slash("completions"),
                                () -> post(() -> withBody(body -> generate(Endpoint.COMPLETION, body)))),
                        path(PathMatchers.segment("v1").slash("models"), () -> get(() -> json(200, ResponseFormatter.modelList(model.id(), created)))),
                        path("tokenize", () -> post(() -> withBody(this::tokenize))),
                        path("detokenize", () -> post(() -> withBody(this::detokenize))),
                        path("cluster", () -> get(() -> json(200, clusterStatus()))))))
        )));
    }

    private Route authorized(Supplier<Route> inner) {
        if (settings.apiKey() == null) return inner.get();
        return optionalHeaderValueByName("Authorization", header -> {
            if (header.isPresent() && keyMatches(header.get(), "Bearer " + settings.apiKey())) return inner.get();
            return error(ApiException.unauthorized(header.isPresent() ? "Incorrect API key provided"
                    : "Missing API key: send 'Authorization: Bearer <key>'"));
        });
    }

    /** Compares in time that does not depend on where the strings first differ, so timing cannot reveal the key. */
    private static boolean keyMatches(String given, String expected) {
        return MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The WebSocket's key check: the header as elsewhere, or {@code ?api_key=KEY}, since a browser
     * cannot set headers on a WebSocket.
     */
    private Route socketAuthorized(Supplier<Route> inner) {
        if (settings.apiKey() == null) return inner.get();
        return parameterOptional("api_key", key -> key.isPresent() && keyMatches(key.get(), settings.apiKey())
                ? inner.get() : authorized(inner));
    }

    /**
     * Browsers let any web page send a POST or open a WebSocket to 127.0.0.1 and name that page in
     * {@code Origin}; only the server's own origin and the configured ones get in. The check is
     * against the host and port the server is bound to, never the request's {@code Host}, which a
     * DNS-rebinding page controls. Clients outside a browser send no Origin and are let in.
     */
    private Route allowedOrigin(Supplier<Route> inner) {
        return optionalHeaderValueByName("Origin", origin -> {
            if (origin.isEmpty() || allowedOrigins.contains(origin.get().toLowerCase(Locale.ROOT))) return inner.get();
            return error(ApiException.forbidden("requests from the origin " + origin.get()
                    + " are refused: only this server's own pages and expertmesh.http.allowed-origins may call it"));
        });
    }

    /** Reads the body as JSON within the size limit, then completes with {@code handler}'s response. */
    private Route withBody(Function<JsonNode, CompletionStage<HttpResponse>> handler) {
        return extractRequest(request -> completeWithFuture(readJson(request).thenCompose(handler)
                .exceptionally(GatewayErrors::toResponse)));
    }

    private CompletionStage<JsonNode> readJson(HttpRequest request) {
        var declared = request.entity().getContentLengthOption();
        if (declared.isPresent() && declared.getAsLong() > settings.maxBodyBytes()) {
            // Read the body before answering (up to pekko's parsing.max-content-length and within body-read-timeout):
            // a connection closed with unread bytes is reset, and a client still sending would lose the 413.
            return request.entity().getDataBytes().completionTimeout(settings.bodyReadTimeout()).runWith(Sink.ignore(), system)
                    .handle((done, failure) -> {
                        throw tooLarge();
                    });
        }
        return request.entity().toStrict(settings.bodyReadTimeout().toMillis(), settings.maxBodyBytes(), system)
                .thenApply(strict -> {
                    if (strict.getData().isEmpty()) throw ApiException.badRequest("request body is empty; send a JSON object", null);
                    try {
                        return Json.MAPPER.readTree(strict.getData().toArray());
                    } catch (JsonProcessingException e) {
                        throw ApiException.badRequest("request body is not valid JSON: " + e.getOriginalMessage(), null);
                    } catch (IOException e) {
                        throw ApiException.badRequest("request body could not be read: " + e.getMessage(), null);
                    }
                });
    }

    private ApiException tooLarge() {
        return ApiException.tooLarge("request body exceeds the limit of " + settings.maxBodyBytes() + " bytes");
    }

    private CompletionStage<HttpResponse> generate(Endpoint endpoint, JsonNode body) {
        if (draining.get()) throw ApiException.unavailable("the server is shutting down");
        return RequestParser.parse(endpoint, body, guideCompiler).thenCompose(request -> submit(endpoint, request));
    }

    private CompletionStage<HttpResponse> submit(Endpoint endpoint, GenerationRequest request) {
        ServedModel.Prepared prepared = model.prepare(request);
        ResponseFormatter format = ResponseFormatter.forRequest(endpoint, model.id());
        RequestLog.accepted(format.id(), request, prepared);
        Tokenizer logprobsTokenizer = request.logprobs() ? model.tokenizer() : null;
        OutputParsing parsing = OutputParsing.of(request, settings.parsesReasoning());
        Pair<ActorRef<SequenceEvent>, Source<SequenceEvent, NotUsed>> events = RequestEvents.open(system,
                request.n() * (prepared.sampling().maxNewTokens() + 1));
        scheduler.tell(new Scheduler.Submit(format.id(), prepared.promptIds(), prepared.sampling(), request.n(), events.first(),
                request.promptLogprobs()));
        return events.second().prefixAndTail(1).runWith(Sink.head(), system).thenApply(split -> {
            SequenceEvent first = split.first().getFirst();
            Source<SequenceEvent, NotUsed> rest = split.second();
            if (first instanceof SequenceEvent.Rejected rejected) {
                rest.runWith(Sink.ignore(), system);
                return GatewayErrors.toResponse(GatewayErrors.rejection(rejected));
            }
            Source<ByteString, NotUsed> bytes = request.stream()
                    ? sse(new StreamChunks(format, request.includeUsage(), request.n(), prepared.echo(), logprobsTokenizer, parsing,
                            request.promptLogprobs()), Source.single(first).concat(rest))
                    : whole(format, rest, new Outcome(format.endpoint(), request.n(), prepared.echo(), logprobsTokenizer, parsing))
                            .merge(heartbeat(), true);
            Source<ByteString, NotUsed> watched = bytes.watchTermination((mat, done) -> {
                done.whenComplete((d, failure) -> scheduler.tell(new Scheduler.Cancel(format.id())));
                return mat;
            });
            if (request.stream()) {
                return HttpResponse.create()
                        .withEntity(HttpEntities.createChunked(EVENT_STREAM, watched))
                        .addHeader(RawHeader.create("Cache-Control", "no-cache"))
                        .addHeader(RawHeader.create("X-Accel-Buffering", "no"));
            }
            return HttpResponse.create().withEntity(HttpEntities.createChunked(ContentTypes.APPLICATION_JSON, watched));
        });
    }

    /** SSE events: each event's {@link StreamChunks}, a failure as an error object, then [DONE]. */
    private static Source<ByteString, NotUsed> sse(StreamChunks chunks, Source<SequenceEvent, NotUsed> events) {
        return events.mapConcat(e -> e instanceof SequenceEvent.Failed f
                        ? List.of(ApiException.internal(f.message()).toJson()) : chunks.of(e))
                .map(node -> ByteString.fromString("data: " + Json.write(node) + "\n\n", StandardCharsets.UTF_8))
                .concat(Source.single(DONE));
    }

    /**
     * Spaces before a non-streaming body while it is computed. A client that closed its connection
     * gives no sign until something is written to it; JSON allows leading whitespace.
     */
    private Source<ByteString, NotUsed> heartbeat() {
        Duration every = settings.heartbeatInterval();
        return Source.tick(every, every, ByteString.fromString(" ")).mapMaterializedValue(cancellable -> NotUsed.getInstance());
    }

    /**
     * The whole completion as one JSON body, sent when the request ends. The status line went out
     * when the request was queued (so a closed connection cancels it), so a failure after that is an
     * error object in the body.
     */
    private static Source<ByteString, NotUsed> whole(ResponseFormatter format, Source<SequenceEvent, NotUsed> events, Outcome outcome) {
        return events.fold(outcome, Outcome::add)
                .map(o -> ByteString.fromString(Json.write(o.body(format)), StandardCharsets.UTF_8));
    }

    /**
     * What a non-streaming request collects from its events: each choice's text, finish and log
     * probabilities, and for parsed chat output its reasoning and tool calls.
     */
    private static final class Outcome {
        private final Endpoint endpoint;
        private final String echo;
        private final Tokenizer logprobsTokenizer;
        private final OutputParsing parsing;
        /** Per choice, its output parser and what it parsed; empty when the output is not parsed. */
        private final List<ChatOutputParser> parsers = new ArrayList<>();
        private final List<ParsedOutput> parsed = new ArrayList<>();
        private final List<StringBuilder> texts = new ArrayList<>();
        private final List<List<TokenLogprobs>> logprobs = new ArrayList<>();
        /** The echoed prompt's log probabilities, when the request asked for them. */
        private SequenceEvent.PromptLogprobs prompt;
        private final FinishReason[] reasons;
        private SequenceEvent.Finished finished;
        private String failure;

        /** @param logprobsTokenizer for the log probabilities' token texts; null when the request did not ask for them */
        Outcome(Endpoint endpoint, int choices, String echo, Tokenizer logprobsTokenizer, OutputParsing parsing) {
            this.endpoint = endpoint;
            this.echo = echo;
            this.logprobsTokenizer = logprobsTokenizer;
            this.parsing = parsing;
            this.reasons = new FinishReason[choices];
            for (int i = 0; i < choices; i++) {
                texts.add(new StringBuilder(echo));
                logprobs.add(new ArrayList<>());
                if (parsing.active()) {
                    parsers.add(parsing.parser());
                    parsed.add(new ParsedOutput());
                }
            }
        }

        Outcome add(SequenceEvent e) {
            switch (e) {
                case SequenceEvent.PromptLogprobs p -> prompt = p;
                case SequenceEvent.TextDelta d -> {
                    texts.get(d.choice()).append(d.text());
                    logprobs.get(d.choice()).addAll(d.logprobs());
                    if (parsing.active()) parsed.get(d.choice()).add(parsers.get(d.choice()).feed(d.text()));
                }
                case SequenceEvent.ChoiceFinished f -> {
                    reasons[f.choice()] = f.reason();
                    if (parsing.active()) {
                        ChatOutputParser parser = parsers.get(f.choice());
                        parsed.get(f.choice()).add(parser.finish());
                        reasons[f.choice()] = StreamChunks.finishReason(parser, f.reason());
                    }
                }
                case SequenceEvent.Finished f -> finished = f;
                case SequenceEvent.Failed f -> failure = f.message();
                default -> { }
            }
            return this;
        }

        ObjectNode body(ResponseFormatter format) {
            if (finished == null) return ApiException.internal(failure != null ? failure : "the request ended without a result").toJson();
            List<ResponseFormatter.Choice> choices = new ArrayList<>(reasons.length);
            for (int i = 0; i < reasons.length; i++) {
                LogprobsJson json = logprobsTokenizer == null ? null : new LogprobsJson(endpoint, logprobsTokenizer, echo);
                ObjectNode lp = json == null ? null
                        : prompt == null ? json.of(logprobs.get(i)) : json.withPrompt(prompt.firstToken(), prompt.logprobs(), logprobs.get(i));
                if (parsing.active()) {
                    ParsedOutput p = parsed.get(i);
                    choices.add(new ResponseFormatter.Choice(p.content(), reasons[i], lp, parsing.reasoning() ? p.reasoning() : null, p.toolCalls()));
                } else {
                    choices.add(new ResponseFormatter.Choice(texts.get(i).toString(), reasons[i], lp));
                }
            }
            return format.complete(choices, finished.promptTokens(), finished.completionTokens());
        }
    }

    private HttpResponse health() {
        Placement p = placement.current();
        if (!p.complete()) {
            return GatewayErrors.toResponse(ApiException.unavailable("expert placement incomplete: " + p.hosted() + "/" + p.experts()
                    + " experts hosted"));
        }
        if (draining.get()) return GatewayErrors.toResponse(ApiException.unavailable("the server is shutting down"));
        return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, "{\"status\":\"ok\"}");
    }

    private CompletionStage<HttpResponse> tokenize(JsonNode body) {
        TokenizeRequest request = TokenizeRequest.parse(body);
        model.checkModel(request.model());
        String text = request.messages() != null ? model.render(request.messages(), request.tools(), request.addGenerationPrompt())
                : request.prompt();
        int[] ids = model.tokenizer().encode(text);
        ObjectNode out = Json.MAPPER.createObjectNode();
        ArrayNode tokens = out.putArray("tokens");
        for (int id : ids) tokens.add(id);
        out.put("count", ids.length);
        out.put("max_model_len", model.maxContext());
        return CompletableFuture.completedFuture(JsonResponses.of(200, out));
    }

    private CompletionStage<HttpResponse> detokenize(JsonNode body) {
        DetokenizeRequest request = DetokenizeRequest.parse(body);
        model.checkModel(request.model());
        for (int id : request.tokens()) {
            if (id >= model.tokenizer().size()) {
                throw ApiException.badRequest("token id " + id + " is outside the vocabulary of " + model.tokenizer().size(), "tokens");
            }
        }
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("prompt", model.tokenizer().decode(request.tokens(), false));
        return CompletableFuture.completedFuture(JsonResponses.of(200, out));
    }

    private ObjectNode clusterStatus() {
        ObjectNode out = Json.MAPPER.createObjectNode();
        ArrayNode members = out.putArray("members");
        for (Member m : Cluster.get(system).state().getMembers()) {
            ObjectNode node = members.addObject();
            node.put("address", m.address().toString());
            ArrayNode roles = node.putArray("roles");
            m.getRoles().stream().filter(r -> !r.startsWith("dc-")).sorted().forEach(roles::add);
            node.put("status", m.status().toString());
        }
        Placement p = placement.current();
        ObjectNode table = out.putObject("placement");
        ObjectNode tokens = out.putObject("expertTokens");
        for (int e = 0; e < p.experts(); e++) {
            table.put(Integer.toString(e), p.node(e));
            tokens.put(Integer.toString(e), expertLoad.tokens(e));
        }
        out.put("placementVersion", p.version());
        return out;
    }

    private Route json(int status, ObjectNode body) {
        return complete(JsonResponses.of(status, body));
    }

    private Route error(ApiException e) {
        return complete(GatewayErrors.toResponse(e));
    }
}
