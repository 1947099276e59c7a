package io.expertmesh.gateway.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.generate.FinishReason;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Builds the JSON objects one generation request answers with, in the OpenAI shapes: stream chunks,
 * the final usage chunk, and the non-streaming body. All carry the same {@code id}, {@code created}
 * and {@code model}. Log probabilities are not reported yet; every choice has {@code "logprobs":null}.
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

    /** The endpoint's prefix and 24 random base62 characters (about 143 bits: unique, not secret). */
    static String newId(Endpoint endpoint) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        StringBuilder id = new StringBuilder(endpoint.idPrefix());
        for (int i = 0; i < ID_LENGTH; i++) id.append(ID_ALPHABET.charAt(random.nextInt(ID_ALPHABET.length())));
        return id.toString();
    }

    /**
     * One stream chunk. The first chat chunk's delta carries {@code "role":"assistant"} and the
     * content (possibly ""); later deltas carry only {@code content}, and none when there is no
     * text (a closing chunk: {@code "delta":{}}). {@code finish} is null until the last chunk.
     */
    public ObjectNode chunk(String textDelta, boolean first, FinishReason finish) {
        String text = textDelta == null ? "" : textDelta;
        ObjectNode body = envelope(endpoint.chunkObject());
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0);
        if (endpoint == Endpoint.CHAT) {
            ObjectNode delta = choice.putObject("delta");
            if (first) delta.put("role", "assistant");
            if (first || !text.isEmpty()) delta.put("content", text);
        } else {
            choice.put("text", text);
        }
        choice.putNull("logprobs");
        putFinish(choice, finish);
        return body;
    }

    /** The chunk sent before {@code [DONE]} when the client asked for usage: no choices, only usage. */
    public ObjectNode usageChunk(int promptTokens, int completionTokens) {
        ObjectNode body = envelope(endpoint.chunkObject());
        body.putArray("choices");
        putUsage(body, promptTokens, completionTokens);
        return body;
    }

    /** The whole response of a non-streaming request. */
    public ObjectNode complete(String text, FinishReason finish, int promptTokens, int completionTokens) {
        Objects.requireNonNull(finish, "finish");
        ObjectNode body = envelope(endpoint.object());
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0);
        if (endpoint == Endpoint.CHAT) {
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", text);
        } else {
            choice.put("text", text);
        }
        choice.putNull("logprobs");
        putFinish(choice, finish);
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
