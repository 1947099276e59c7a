package io.expertmesh.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.ModelFormatException;
import java.util.List;

/** Small helpers for reading tokenizer.json components. */
final class TokenizerJson {
    private TokenizerJson() {}

    /**
     * A Metaspace component's prepend scheme: {@code prepend_scheme} (always / first / never), or the
     * older {@code add_prefix_space} flag (true meaning always).
     */
    static String prependScheme(JsonNode node, String source) {
        String scheme = node.has("prepend_scheme") ? node.path("prepend_scheme").asText()
                : node.path("add_prefix_space").asBoolean(true) ? "always" : "never";
        if (!List.of("always", "first", "never").contains(scheme)) {
            throw new ModelFormatException(source + ": Metaspace prepend_scheme '" + scheme + "' is not supported");
        }
        return scheme;
    }

    /** The literal of a {@code "pattern": {"String": ...}}; regex patterns are refused by name. */
    static String stringPattern(JsonNode node, String source) {
        JsonNode pattern = node.path("pattern");
        if (pattern.has("String")) return pattern.get("String").asText();
        throw new ModelFormatException(source + ": " + node.path("type").asText() + " with pattern " + pattern
                + " is not supported (only string patterns)");
    }
}
