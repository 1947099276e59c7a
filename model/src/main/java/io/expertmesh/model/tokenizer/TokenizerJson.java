package io.expertmesh.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.ModelFormatException;

/** Small helpers for reading tokenizer.json components. */
final class TokenizerJson {
    private TokenizerJson() {}

    /** The literal of a {@code "pattern": {"String": ...}}; regex patterns are refused by name. */
    static String stringPattern(JsonNode node, String source) {
        JsonNode pattern = node.path("pattern");
        if (pattern.has("String")) return pattern.get("String").asText();
        throw new ModelFormatException(source + ": " + node.path("type").asText() + " with pattern " + pattern
                + " is not supported (only string patterns)");
    }
}
