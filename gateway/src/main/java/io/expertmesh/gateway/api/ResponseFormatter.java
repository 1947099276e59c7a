package io.expertmesh.gateway.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.generate.FinishReason;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Builds the JSON objects one generation request answers with, in the OpenAI shapes: stream chunks,
 * the final usage chunk, and the non-streaming body. All carry the same {@code id}, {@code created}
 * and {@code model}. A choice's {@code logprobs} is the object {@link LogprobsJson} built, or null.
 *
 * @param endpoint which API's shapes to build
 * @param model    the served model's name
 * @param id       the response id, e.g. {@code chatcmpl-…}
 * @param created  epoch seconds
 */
public record ResponseFormatter(Endpoint endpoint, String model, String id, long created) {
    private static final String ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static final int ID_LENGTH = 24;

    public ResponseFormatter {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(id, "id");
    }

    /** A formatter for a new request: a fresh id and the current time. */
    public static ResponseFormatter forRequest(Endpoint endpoint, String model) {
        return new ResponseFormatter(endpoint, model, newId(endpoint), Instant.now().getEpochSecond());
    }

    /** The endpoint's prefix and 24 random base62 characters. */
    static String newId(Endpoint endpoint) {
        return randomId(endpoint.idPrefix());
    }

    /** {@code prefix} and 24 random base62 characters (about 143 bits: unique, not secret). */
    static String randomId(String prefix) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        StringBuilder id = new StringBuilder(prefix);
        for (int i = 0; i < ID_LENGTH; i++) id.append(ID_ALPHABET.charAt(random.nextInt(ID_ALPHABET.length())));
        return id.toString();
    }

    /**
     * One choice of a whole response: its text, why it ended, and its log probabilities or null; a
     * chat choice may also carry its reasoning (null when no reasoning parser runs) and tool calls.
     */
    public record Choice(String text, FinishReason finish, ObjectNode logprobs, String reasoning, List<ParsedOutput.ToolCall> toolCalls) {
        public Choice {
            Objects.requireNonNull(text, "text");
            Objects.requireNonNull(finish, "finish");
            toolCalls = List.copyOf(toolCalls);
        }

        public Choice(String text, FinishReason finish, ObjectNode logprobs) {
            this(text, finish, logprobs, null, List.of());
        }
    }

    /**
     * One stream chunk of choice {@code index}. The first chat chunk's delta carries
     * {@code "role":"assistant"} and the content (possibly ""); later deltas carry only
     * {@code content}, and none when there is no text (a closing chunk: {@code "delta":{}}).
     * {@code finish} is null until the choice's last chunk; {@code logprobs} is null unless asked.
     */
    public ObjectNode chunk(int index, String textDelta, boolean first, FinishReason finish, ObjectNode logprobs) {
        String text = textDelta == null ? "" : textDelta;
        ObjectNode body = envelope(endpoint.chunkObject());
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", index);
        if (endpoint == Endpoint.CHAT) {
            ObjectNode delta = choice.putObject("delta");
            if (first) delta.put("role", "assistant");
            if (first || !text.isEmpty()) delta.put("content", text);
        } else {
            choice.put("text", text);
        }
        putLogprobs(choice, logprobs);
        putFinish(choice, finish);
        return body;
    }

    /**
     * A chat stream chunk of choice {@code index} carrying one parsed piece of its output:
     * {@code content}, {@code reasoning_content}, or a {@code tool_calls} delta (the first of a call
     * has its id, type, name and empty arguments; later ones only argument fragments).
     */
    public ObjectNode pieceChunk(int index, OutputPiece piece, ObjectNode logprobs) {
        ObjectNode body = envelope(endpoint.chunkObject());
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", index);
        ObjectNode delta = choice.putObject("delta");
        switch (piece) {
            case OutputPiece.Content c -> delta.put("content", c.text());
            case OutputPiece.Reasoning r -> delta.put("reasoning_content", r.text());
            case OutputPiece.ToolCallStart s -> {
                ObjectNode call = delta.putArray("tool_calls").addObject();
                call.put("index", s.index());
                call.put("id", s.id());
                call.put("type", "function");
                ObjectNode function = call.putObject("function");
                function.put("name", s.name());
                function.put("arguments", "");
            }
            case OutputPiece.ToolCallArguments a -> {
                ObjectNode call = delta.putArray("tool_calls").addObject();
                call.put("index", a.index());
                call.putObject("function").put("arguments", a.fragment());
            }
        }
        putLogprobs(choice, logprobs);
        putFinish(choice, null);
        return body;
    }

    /** The chunk sent before {@code [DONE]} when the client asked for usage: no choices, only usage. */
    public ObjectNode usageChunk(int promptTokens, int completionTokens) {
        ObjectNode body = envelope(endpoint.chunkObject());
        body.putArray("choices");
        putUsage(body, promptTokens, completionTokens);
        return body;
    }

    /** The whole response of a non-streaming request: its choices in index order; usage counts all choices' tokens. */
    public ObjectNode complete(List<Choice> choices, int promptTokens, int completionTokens) {
        ObjectNode body = envelope(endpoint.object());
        ArrayNode array = body.putArray("choices");
        for (int i = 0; i < choices.size(); i++) {
            Choice c = choices.get(i);
            ObjectNode choice = array.addObject();
            choice.put("index", i);
            if (endpoint == Endpoint.CHAT) {
                ObjectNode message = choice.putObject("message");
                message.put("role", "assistant");
                // OpenAI's content is null for a turn that is only tool calls.
                if (c.text().isEmpty() && !c.toolCalls().isEmpty()) message.putNull("content");
                else message.put("content", c.text());
                if (c.reasoning() != null) message.put("reasoning_content", c.reasoning());
                if (!c.toolCalls().isEmpty()) {
                    ArrayNode calls = message.putArray("tool_calls");
                    for (ParsedOutput.ToolCall t : c.toolCalls()) {
                        ObjectNode call = calls.addObject();
                        call.put("id", t.id());
                        call.put("type", "function");
                        ObjectNode function = call.putObject("function");
                        function.put("name", t.name());
                        function.put("arguments", t.arguments());
                    }
                }
            } else {
                choice.put("text", c.text());
            }
            putLogprobs(choice, c.logprobs());
            putFinish(choice, c.finish());
        }
        putUsage(body, promptTokens, completionTokens);
        return body;
    }

    /** The body of {@code GET /v1/models}: one model. */
    public static ObjectNode modelList(String modelId, long created) {
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("object", "list");
        ObjectNode model = body.putArray("data").addObject();
        model.put("id", modelId);
        model.put("object", "model");
        model.put("created", created);
        model.put("owned_by", "expertmesh");
        return body;
    }

    private ObjectNode envelope(String object) {
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("id", id);
        body.put("object", object);
        body.put("created", created);
        body.put("model", model);
        return body;
    }

    private static void putLogprobs(ObjectNode choice, ObjectNode logprobs) {
        if (logprobs == null) choice.putNull("logprobs");
        else choice.set("logprobs", logprobs);
    }

    private static void putFinish(ObjectNode choice, FinishReason finish) {
        if (finish == null) choice.putNull("finish_reason");
        else choice.put("finish_reason", finish.apiName());
    }

    private static void putUsage(ObjectNode body, int promptTokens, int completionTokens) {
        ObjectNode usage = body.putObject("usage");
        usage.put("prompt_tokens", promptTokens);
        usage.put("completion_tokens", completionTokens);
        usage.put("total_tokens", promptTokens + completionTokens);
    }
}
