package io.expertmesh.gateway.api;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A validated {@code POST /detokenize} body (vLLM's names): {@code tokens}, an array of token ids
 * (integers ≥ 0; the caller checks them against the vocabulary).
 *
 * @param model  the model the client named, or null; the caller checks it
 * @param tokens the ids; shared, not copied: do not modify
 */
public record DetokenizeRequest(String model, int[] tokens) {

    /** Validates a detokenize body; a 400 {@link ApiException} names the field at fault. */
    public static DetokenizeRequest parse(JsonNode body) {
        JsonFields f = JsonFields.ofBody(body);
        String model = f.string("model");
        JsonNode tokens = f.get("tokens");
        if (tokens == null) throw f.invalid("tokens", "an array of token ids (integers >= 0)", null);
        return new DetokenizeRequest(model, RequestParser.tokenIds(tokens, "tokens", "tokens"));
    }
}
