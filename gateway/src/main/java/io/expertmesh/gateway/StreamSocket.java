package io.expertmesh.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.attention.Scheduler;
import io.expertmesh.attention.SequenceEvent;
import io.expertmesh.gateway.api.ApiException;
import io.expertmesh.gateway.api.Endpoint;
import io.expertmesh.gateway.api.GenerationRequest;
import io.expertmesh.gateway.api.OutputParsing;
import io.expertmesh.gateway.api.RequestParser;
import io.expertmesh.gateway.api.ResponseFormatter;
import io.expertmesh.model.Json;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSink;
import org.apache.pekko.stream.typed.javadsl.ActorSource;

/**
 * One WebSocket on {@code /v1/stream}: each text frame {@code {"type":"chat.completions"|"completions",
 * "id":..,"body":{..}}} starts a request (several may run at once), {@code {"type":"cancel","id":..}}
 * stops one. Every request's chunks go out as {@code {"id":..,"chunk":{..}}} and it ends with
 * {@code {"id":..,"done":true}} or {@code {"id":..,"error":{..}}}. A bad frame gets an error frame and
 * the socket stays open; closing the socket cancels its requests.
 */
final class StreamSocket extends AbstractBehavior<StreamSocket.Command> {
    private static final AtomicLong SOCKETS = new AtomicLong();
    private static final int MAX_CLIENT_ID = 256;

    sealed interface Command extends NoSerializationVerificationNeeded {}

    private record Frame(String text) implements Command {}

    private record BadFrame(String reason) implements Command {}

    private enum Closed implements Command { INSTANCE }

    private record Event(SequenceEvent event) implements Command {}

    /** A request whose guide was being compiled: parsed whole, or failed. */
    private record Parsed(String clientId, Endpoint endpoint, GenerationRequest request, Throwable failure) implements Command {}

    /** A request in flight on this socket. */
    private record Active(String clientId, StreamChunks chunks) {}

    private final ActorRef<Scheduler.Command> scheduler;
    private final ServedModel model;
    private final GatewaySettings settings;
    private final AtomicBoolean draining;
    private final ActorRef<String> out;
    private final ActorRef<SequenceEvent> events;
    private final Map<String, Active> byRequest = new HashMap<>();
    private final Map<String, String> requestByClientId = new HashMap<>();
    /** Client ids of requests being parsed (their guide compiled), not yet submitted. */
    private final Set<String> parsing = new HashSet<>();
    private final Executor guideCompiler;

    /** The socket's message flow: incoming frames to a session actor, its frames back out. */
    static Flow<Message, Message, NotUsed> flow(ActorSystem<?> system, ActorRef<Scheduler.Command> scheduler, ServedModel model,
                                                GatewaySettings settings, AtomicBoolean draining, Executor guideCompiler) {
        Pair<ActorRef<String>, Source<String, NotUsed>> outgoing = ActorSource.<String>actorRef(
                s -> false, s -> Optional.empty(), 1 << 16, OverflowStrategy.fail()).preMaterialize(system);
        ActorRef<Command> session = system.systemActorOf(
                Behaviors.setup(ctx -> new StreamSocket(ctx, scheduler, model, settings, draining, outgoing.first(), guideCompiler)),
                "stream-socket-" + SOCKETS.incrementAndGet(), Props.empty());
        Sink<Message, NotUsed> in = Flow.<Message>create()
                .mapAsync(1, m -> read(m, settings, system))
                .to(ActorSink.actorRef(session, Closed.INSTANCE, failure -> Closed.INSTANCE));
        return Flow.fromSinkAndSourceCoupled(in, outgoing.second().map(text -> (Message) TextMessage.create(text)));
    }

    private static CompletionStage<Command> read(Message message, GatewaySettings settings, ActorSystem<?> system) {
        if (!message.isText()) {
            message.asBinaryMessage().getStreamedData().runWith(Sink.ignore(), system);
            return CompletableFuture.completedFuture(new BadFrame("binary frames are not supported; send JSON text frames"));
        }
        TextMessage text = message.asTextMessage();
        if (text.isStrict()) return CompletableFuture.completedFuture(frame(text.getStrictText(), settings));
        // The whole message is read, keeping at most the limit: a message cut short would fail the
        // connection, so an oversize one gets an error frame and the socket stays usable.
        long limit = settings.maxBodyBytes();
        return text.getStreamedText()
                .completionTimeout(settings.bodyReadTimeout())
                .runFold(new BoundedText(limit), BoundedText::append, system)
                .<Command>thenApply(t -> t.overLimit() ? new BadFrame("frame larger than " + limit + " characters") : frame(t.text(), settings))
                .exceptionally(e -> new BadFrame("frame not received within " + settings.bodyReadTimeout().toMillis() + " ms"));
    }

    /** The parts of a streamed message, kept while they fit in {@code limit} characters and only counted after. */
    private static final class BoundedText {
        private final long limit;
        private final StringBuilder kept = new StringBuilder();
        private long length;

        BoundedText(long limit) {
            this.limit = limit;
        }

        BoundedText append(String part) {
            length += part.length();
            if (length <= limit) kept.append(part);
            return this;
        }

        boolean overLimit() {
            return length > limit;
        }

        String text() {
            return kept.toString();
        }
    }

    private static Command frame(String text, GatewaySettings settings) {
        return text.length() > settings.maxBodyBytes()
                ? new BadFrame("frame larger than " + settings.maxBodyBytes() + " characters") : new Frame(text);
    }

    private StreamSocket(ActorContext<Command> ctx, ActorRef<Scheduler.Command> scheduler, ServedModel model, GatewaySettings settings,
                         AtomicBoolean draining, ActorRef<String> out, Executor guideCompiler) {
        super(ctx);
        this.guideCompiler = guideCompiler;
        this.scheduler = scheduler;
        this.model = model;
        this.settings = settings;
        this.draining = draining;
        this.out = out;
        this.events = ctx.messageAdapter(SequenceEvent.class, Event::new);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Frame.class, this::onFrame)
                .onMessage(BadFrame.class, bad -> {
                    sendError(null, ApiException.badRequest(bad.reason(), null));
                    return this;
                })
                .onMessage(Event.class, this::onEvent)
                .onMessage(Parsed.class, this::onParsed)
                .onMessage(Closed.class, c -> Behaviors.stopped())
                .onSignal(PostStop.class, stop -> {
                    for (String request : byRequest.keySet()) scheduler.tell(new Scheduler.Cancel(request));
                    return this;
                })
                .build();
    }

    private Behavior<Command> onFrame(Frame frame) {
        JsonNode msg;
        try {
            msg = Json.MAPPER.readTree(frame.text());
        } catch (Exception e) {
            sendError(null, ApiException.badRequest("frame is not valid JSON", null));
            return this;
        }
        if (msg == null || !msg.isObject()) {
            sendError(null, ApiException.badRequest("frame must be a JSON object with 'type' and 'id'", null));
            return this;
        }
        JsonNode idNode = msg.get("id");
        if (idNode == null || !idNode.isTextual() || idNode.asText().isEmpty() || idNode.asText().length() > MAX_CLIENT_ID) {
            sendError(null, ApiException.badRequest("'id' must be a non-empty string of at most " + MAX_CLIENT_ID + " characters", "id"));
            return this;
        }
        String id = idNode.asText();
        String type = msg.path("type").isTextual() ? msg.get("type").asText() : null;
        try {
            switch (type) {
                case "chat.completions" -> start(id, Endpoint.CHAT, msg.get("body"));
                case "completions" -> start(id, Endpoint.COMPLETION, msg.get("body"));
                case "cancel" -> cancel(id);
                case null, default -> throw ApiException.badRequest(
                        "'type' must be \"chat.completions\", \"completions\" or \"cancel\"", "type");
            }
        } catch (RuntimeException e) {
            sendError(id, GatewayErrors.toApi(e));
        }
        return this;
    }

    private void start(String clientId, Endpoint endpoint, JsonNode body) {
        if (requestByClientId.containsKey(clientId) || parsing.contains(clientId)) {
            throw ApiException.badRequest("a request with id '" + clientId + "' is already running", "id");
        }
        if (byRequest.size() + parsing.size() >= settings.maxSocketRequests()) {
            throw ApiException.overloaded("at most " + settings.maxSocketRequests() + " requests may run on one socket");
        }
        if (draining.get()) throw ApiException.unavailable("the server is shutting down");
        if (body == null || !body.isObject()) throw ApiException.badRequest("'body' must be a JSON object", "body");
        ObjectNode streaming = ((ObjectNode) body).deepCopy();
        streaming.put("stream", true);
        var parsed = RequestParser.parse(endpoint, streaming, guideCompiler);
        parsing.add(clientId);
        getContext().pipeToSelf(parsed, (request, failure) -> new Parsed(clientId, endpoint, request, failure));
    }

    private Behavior<Command> onParsed(Parsed p) {
        if (!parsing.remove(p.clientId())) return this; // cancelled while its guide compiled
        if (p.failure() != null) {
            sendError(p.clientId(), GatewayErrors.toApi(p.failure()));
            return this;
        }
        try {
            submit(p.clientId(), p.endpoint(), p.request());
        } catch (RuntimeException e) {
            sendError(p.clientId(), GatewayErrors.toApi(e));
        }
        return this;
    }

    private void submit(String clientId, Endpoint endpoint, GenerationRequest request) {
        ServedModel.Prepared prepared = model.prepare(request);
        ResponseFormatter format = ResponseFormatter.forRequest(endpoint, model.id());
        RequestLog.accepted(format.id(), request, prepared);
        byRequest.put(format.id(), new Active(clientId, new StreamChunks(format, request.includeUsage(), request.n(), prepared.echo(),
                request.logprobs() ? model.tokenizer() : null, OutputParsing.of(request, settings.parsesReasoning()), request.promptLogprobs())));
        requestByClientId.put(clientId, format.id());
        scheduler.tell(new Scheduler.Submit(format.id(), prepared.promptIds(), prepared.sampling(), request.n(), events,
                request.promptLogprobs()));
    }

    private void cancel(String clientId) {
        String request = requestByClientId.remove(clientId);
        if (request == null && parsing.remove(clientId)) {
            out.tell(Json.write(Json.MAPPER.createObjectNode().put("id", clientId).put("done", true).put("cancelled", true)));
            return;
        }
        if (request == null) throw ApiException.badRequest("no request with id '" + clientId + "' is running on this socket", "id");
        byRequest.remove(request);
        scheduler.tell(new Scheduler.Cancel(request));
        ObjectNode done = Json.MAPPER.createObjectNode().put("id", clientId).put("done", true).put("cancelled", true);
        out.tell(Json.write(done));
    }

    private Behavior<Command> onEvent(Event wrapped) {
        SequenceEvent e = wrapped.event();
        Active a = byRequest.get(e.requestId());
        if (a == null) return this;
        for (ObjectNode chunk : a.chunks().of(e)) sendChunk(a, chunk);
        switch (e) {
            case SequenceEvent.Queued _, SequenceEvent.PromptLogprobs _, SequenceEvent.TextDelta _, SequenceEvent.ChoiceFinished _ -> { }
            case SequenceEvent.Finished _ -> {
                out.tell(Json.write(Json.MAPPER.createObjectNode().put("id", a.clientId()).put("done", true)));
                forget(e.requestId());
            }
            case SequenceEvent.Failed f -> {
                sendError(a.clientId(), ApiException.internal(f.message()));
                forget(e.requestId());
            }
            case SequenceEvent.Rejected r -> {
                sendError(a.clientId(), GatewayErrors.rejection(r));
                forget(e.requestId());
            }
        }
        return this;
    }

    private void forget(String request) {
        Active a = byRequest.remove(request);
        if (a != null) requestByClientId.remove(a.clientId());
    }

    private void sendChunk(Active a, ObjectNode chunk) {
        ObjectNode frame = Json.MAPPER.createObjectNode().put("id", a.clientId());
        frame.set("chunk", chunk);
        out.tell(Json.write(frame));
    }

    private void sendError(String clientId, ApiException error) {
        ObjectNode frame = Json.MAPPER.createObjectNode();
        if (clientId == null) frame.putNull("id");
        else frame.put("id", clientId);
        frame.set("error", error.toJson().get("error"));
        out.tell(Json.write(frame));
    }
}
