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

    /**
     * The literal {@code prefix}, then what {@code inner} allows, then the literal {@code suffix}: a
     * forced tool call is its opening, its arguments' schema and its closing.
     */
    record Framed(String prefix, GuideSpec inner, String suffix) implements GuideSpec {}

    /** What any one of {@code options} allows: a call to one of several tools. */
    record OneOf(List<GuideSpec> options) implements GuideSpec {
        public OneOf {
            options = List.copyOf(options);
        }
    }
}
