package io.expertmesh.model.guided;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * What a guided (structured) output must look like. {@link TokenConstraint#compile} turns one into
 * a constraint over a tokenizer's vocabulary; bad or unsupported specs are a {@link GuideException}.
 */
public sealed interface GuideSpec {
    /** Any JSON object ({@code response_format: {"type": "json_object"}}), nested at most {@link JsonSchemaPatterns#ANY_VALUE_DEPTH} deep. */
    record JsonObject() implements GuideSpec {}

    /** A JSON value valid against {@code schema} (the supported keywords are in {@link JsonSchemaPatterns}). */
    record JsonSchema(JsonNode schema) implements GuideSpec {}

    /** Text the whole of which matches {@code pattern} (the syntax is in {@link RegexPatterns}). */
    record Regex(String pattern) implements GuideSpec {}

    /** Exactly one of {@code choices}. */
    record Choice(List<String> choices) implements GuideSpec {
        public Choice {
            choices = List.copyOf(choices);
        }
    }

    /** The literal {@code prefix}, then what {@code then} allows: a forced tool-call opening followed by its arguments' schema. */
    record Prefixed(String prefix, GuideSpec then) implements GuideSpec {}
}
