package io.expertmesh.loadtests;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectReader;
import io.expertmesh.model.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Checks one streamed chat completion chunk by chunk against the serving contract: every chunk a
 * {@code chat.completion.chunk} with the same id, the first carrying {@code role: assistant}, then content
 * deltas, exactly one {@code finish_reason} ("stop" or "length") and, when asked for, one usage chunk
 * ({@code choices: []}) after it. Also parses the transport around the chunks: Gatling's rendering of an SSE
 * event ({@code {"data":...}}) and the WebSocket frames of {@code /v1/stream}. Records the arrival time of
 * every chunk that carries text, for the gaps between them.
 */
public final class StreamValidator {
    /** What one transport message is. */
    public enum Kind { CHUNK, DONE, CANCELLED, ERROR }

    /** One parsed transport message; {@code chunk} is set for CHUNK, {@code error} for ERROR. */
    public record Frame(Kind kind, String clientId, Map<String, Object> chunk, String error) {}

    /** Gatling renders {@code data: [DONE]} as this (it takes the brackets for a JSON array). */
    public static final String SSE_DONE = "{\"data\":[DONE]}";

    /** Reads a JSON object with integers as Long (the checks below ask for Long) and refuses duplicate keys. */
    private static final ObjectReader OBJECT = Json.MAPPER.readerFor(new TypeReference<Map<String, Object>>() {})
            .with(DeserializationFeature.USE_LONG_FOR_INTS)
            .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

    private final boolean expectUsage;
    private String streamId;
    private boolean seenRole;
    private boolean seenFinish;
    private boolean seenUsage;
    private String finishReason;
    private int chunks;
    private long completionTokens = -1;
    private final List<Long> contentTimes = new ArrayList<>();
    private final StringBuilder text = new StringBuilder();
    private String error;

    public StreamValidator(boolean expectUsage) {
        this.expectUsage = expectUsage;
    }

    /** Parses a message as Gatling's SSE check and buffer see it: {@code {"data":<chunk>}} or {@link #SSE_DONE}. */
    @SuppressWarnings("unchecked")
    public static Frame parseSse(String message) {
        if (SSE_DONE.equals(message)) return new Frame(Kind.DONE, null, null, null);
        Map<String, Object> event = object(message);
        if (event == null) return new Frame(Kind.ERROR, null, null, "SSE event is not JSON: " + abbreviate(message));
        if (!event.keySet().equals(java.util.Set.of("data"))) {
            return new Frame(Kind.ERROR, null, null, "SSE event has fields other than data: " + abbreviate(message));
        }
        if (!(event.get("data") instanceof Map<?, ?> data)) {
            return new Frame(Kind.ERROR, null, null, "SSE data is not a JSON object: " + abbreviate(message));
        }
        if (data.containsKey("error")) return new Frame(Kind.ERROR, null, null, "error event: " + abbreviate(Json.write(data)));
        return new Frame(Kind.CHUNK, null, (Map<String, Object>) data, null);
    }

    /** Parses a {@code /v1/stream} frame: {@code {"id":..,"chunk":..}}, {@code {"id":..,"done":true[,"cancelled":true]}} or {@code {"id":..,"error":..}}. */
    @SuppressWarnings("unchecked")
    public static Frame parseWs(String frame) {
        Map<String, Object> m = object(frame);
        if (m == null) return new Frame(Kind.ERROR, null, null, "frame is not JSON: " + abbreviate(frame));
        String id = m.get("id") instanceof String s ? s : null;
        if (m.containsKey("error")) return new Frame(Kind.ERROR, id, null, "error frame: " + abbreviate(frame));
        if (id == null) return new Frame(Kind.ERROR, null, null, "frame without a string id: " + abbreviate(frame));
        if (m.get("chunk") instanceof Map<?, ?> chunk && m.size() == 2) return new Frame(Kind.CHUNK, id, (Map<String, Object>) chunk, null);
        if (Boolean.TRUE.equals(m.get("done"))) {
            if (m.size() == 2) return new Frame(Kind.DONE, id, null, null);
            if (m.size() == 3 && Boolean.TRUE.equals(m.get("cancelled"))) return new Frame(Kind.CANCELLED, id, null, null);
        }
        return new Frame(Kind.ERROR, id, null, "unexpected frame: " + abbreviate(frame));
    }

    /** The JSON object in {@code text}, or null when the text is not one (malformed JSON included). */
    private static Map<String, Object> object(String text) {
        try {
            return OBJECT.readValue(text);
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    /** True for the first chunk of a chat stream, whose delta is only the role (its text, if any, is empty). */
    public static boolean isRoleChunk(Map<String, Object> chunk) {
        if (!(chunk.get("choices") instanceof List<?> choices) || choices.size() != 1) return false;
        if (!(choices.getFirst() instanceof Map<?, ?> choice) || !(choice.get("delta") instanceof Map<?, ?> delta)) return false;
        return delta.containsKey("role") && "".equals(Objects.requireNonNullElse(delta.get("content"), ""));
    }

    /**
     * Feeds the next chunk, received at {@code timestampMs}. Returns false (and keeps the first error) when
     * the chunk breaks the contract.
     */
    public boolean accept(Map<String, Object> chunk, long timestampMs) {
        if (error != null) return false;
        String problem = check(chunk, timestampMs);
        if (problem != null) error = "chunk " + (chunks + 1) + ": " + problem;
        chunks++;
        return problem == null;
    }

    /** Records a transport-level problem (an error event, an unexpected frame). */
    public void fail(String problem) {
        if (error == null) error = problem;
    }

    private String check(Map<String, Object> c, long timestampMs) {
        if (c.containsKey("error")) return "error object in the stream: " + abbreviate(Json.write(c.get("error")));
        if (!"chat.completion.chunk".equals(c.get("object"))) return "object is " + c.get("object") + ", not chat.completion.chunk";
        if (!(c.get("id") instanceof String id) || !id.startsWith("chatcmpl-")) return "id " + c.get("id") + " is not chatcmpl-...";
        if (streamId == null) streamId = id;
        else if (!streamId.equals(id)) return "id changed from " + streamId + " to " + id;
        if (!(c.get("created") instanceof Long)) return "created is not an integer";
        if (!(c.get("model") instanceof String)) return "model is not a string";
        if (!(c.get("choices") instanceof List<?> choices)) return "choices is not a list";
        if (choices.isEmpty()) {
            if (!expectUsage) return "a chunk with no choices although usage was not asked for";
            if (!seenFinish) return "usage chunk before the finish_reason chunk";
            if (seenUsage) return "a second usage chunk";
            if (!(c.get("usage") instanceof Map<?, ?> usage)) return "chunk with no choices and no usage";
            if (!(usage.get("prompt_tokens") instanceof Long p) || !(usage.get("completion_tokens") instanceof Long n)
                    || !(usage.get("total_tokens") instanceof Long t)) {
                return "usage without integer prompt_tokens/completion_tokens/total_tokens";
            }
            if (p + n != t) return "usage total_tokens " + t + " != " + p + " + " + n;
            if (n < 0 || p <= 0) return "usage counts out of range";
            seenUsage = true;
            completionTokens = n;
            return null;
        }
        if (seenUsage) return "a chunk after the usage chunk";
        if (seenFinish) return "a chunk with choices after finish_reason";
        if (choices.size() != 1 || !(choices.getFirst() instanceof Map<?, ?> choice)) return "choices must hold one object";
        if (!Long.valueOf(0).equals(choice.get("index"))) return "choice index is not 0";
        if (!(choice.get("delta") instanceof Map<?, ?> delta)) return "delta is not an object";
        if (!choice.containsKey("finish_reason")) return "finish_reason is missing";
        Object finish = choice.get("finish_reason");
        Object content = delta.get("content");
        if (content != null && !(content instanceof String)) return "delta.content is not a string";
        if (!seenRole) {
            if (!"assistant".equals(delta.get("role"))) return "the first chunk's delta has no role 'assistant'";
            seenRole = true;
        } else if (delta.containsKey("role")) {
            return "role after the first chunk";
        }
        if (content instanceof String s && !s.isEmpty()) {
            text.append(s);
            contentTimes.add(timestampMs);
        }
        if (finish != null) {
            if (!"stop".equals(finish) && !"length".equals(finish)) return "finish_reason " + finish + " is not stop or length";
            seenFinish = true;
            finishReason = (String) finish;
        }
        return null;
    }

    /** The verdict once the stream ended normally ({@code [DONE]} or {@code done}); null when it is valid. */
    public String verdictCompleted() {
        if (error != null) return error;
        if (!seenRole) return "no chunk before the end of the stream";
        if (!seenFinish) return "the stream ended without a finish_reason";
        if (expectUsage && !seenUsage) return "the stream ended without the usage chunk";
        return null;
    }

    /** The verdict for a request the client cancelled: what arrived must be valid, and it must not have finished. */
    public String verdictCancelled() {
        if (error != null) return error;
        if (!seenRole) return "no chunk before the cancel";
        return null;
    }

    public String error() {
        return error;
    }

    public int chunks() {
        return chunks;
    }

    /** Chunks that carried text. */
    public int contentChunks() {
        return contentTimes.size();
    }

    /** completion_tokens of the usage chunk, or -1 without one. */
    public long completionTokens() {
        return completionTokens;
    }

    public String finishReason() {
        return finishReason;
    }

    public boolean finished() {
        return seenFinish;
    }

    public String text() {
        return text.toString();
    }

    /** Arrival times of the chunks that carried text, in order. */
    public List<Long> contentTimes() {
        return List.copyOf(contentTimes);
    }

    static String abbreviate(String s) {
        return s.length() <= 160 ? s : s.substring(0, 157) + "...";
    }
}
