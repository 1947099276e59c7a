package io.expertmesh.model.guided;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.TinyModel;
import io.expertmesh.model.engine.HeapSequences;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.generate.FinishReason;
import io.expertmesh.model.generate.Generation;
import io.expertmesh.model.generate.Generator;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Random bounded JSON schemas, sampled on the tiny model at temperature 1 with several seeds: every
 * output parses and validates. The schemas are bounded (item counts, string lengths, number digits),
 * so {@link Guide#longestOutputBytes} bounds the tokens any output needs, and max_tokens is set from it.
 */
class GuidedGenerationTest {
    private static final int SCHEMAS = 50;
    private static final long[] SEEDS = {1, 2};
    private static LoadedModel model;
    private static Tokenizer tokenizer;
    private static int endOfSequence;

    @BeforeAll
    static void load() {
        model = LoadedModel.open(TinyModel.dir(), 2);
        tokenizer = Tokenizer.load(TinyModel.dir());
        endOfSequence = tokenizer.tokenId("</s>").orElseGet(() -> tokenizer.tokenId("<|end_of_sentence|>").orElseThrow());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void everyOutputOfFiftyRandomSchemasParsesAndValidates() throws Exception {
        SplittableRandom random = new SplittableRandom(2026);
        TokenVocabulary vocabulary = TokenVocabulary.of(tokenizer);
        Generator generator = new Generator(new HeapSequences(model.model()), tokenizer);
        int[] prompt = tokenizer.encode("Reply with JSON.");
        int stopped = 0;
        for (int i = 0; i < SCHEMAS; i++) {
            JsonNode schema = randomSchema(random, 0, i % 2 == 0);
            Guide guide = Guide.compile(new GuideSpec.JsonSchema(schema));
            int longest = guide.longestOutputBytes();
            assertTrue(longest > 0, "bounded schema " + schema);
            for (long seed : SEEDS) {
                SamplingParams params = new SamplingParams(1f, 0, 1, 0, 1, 0, 0, seed, longest + 1, 0, Set.of(endOfSequence),
                        List.of(), Map.of(), SamplingParams.NO_LOGPROBS, guide.over(vocabulary));
                Generation g = generator.generate(prompt, params, t -> {});
                assertEquals(FinishReason.STOP, g.finishReason(), "schema " + schema + " seed " + seed + ": " + g.text());
                JsonNode value;
                try {
                    value = Json.MAPPER.readTree(g.text());
                } catch (Exception e) {
                    throw new AssertionError("schema " + schema + " seed " + seed + " gave unparsable " + g.text(), e);
                }
                String error = validate(schema, value, "#");
                if (error != null) fail("schema " + schema + " seed " + seed + " gave " + g.text() + ": " + error);
                stopped++;
            }
        }
        assertEquals(SCHEMAS * SEEDS.length, stopped);
    }

    /** A random schema: objects (required and optional properties), arrays, enums, bounded strings and numbers. */
    private static JsonNode randomSchema(SplittableRandom r, int depth, boolean objectAtTop) {
        ObjectNode s = Json.MAPPER.createObjectNode();
        int kind = depth == 0 && objectAtTop ? 0 : r.nextInt(depth >= 2 ? 2 : 0, 8);
        switch (kind) {
            case 0, 1 -> {
                s.put("type", "object");
                ObjectNode props = s.putObject("properties");
                ArrayNode required = Json.MAPPER.createArrayNode();
                int n = r.nextInt(1, 4);
                for (int p = 0; p < n; p++) {
                    String name = "p" + p + (r.nextBoolean() ? "_é" : "");
                    props.set(name, randomSchema(r, depth + 1, false));
                    if (r.nextBoolean()) required.add(name);
                }
                if (!required.isEmpty()) s.set("required", required);
                s.put("additionalProperties", false);
            }
            case 2 -> {
                s.put("type", "array");
                s.set("items", randomSchema(r, depth + 1, false));
                int min = r.nextInt(0, 2);
                s.put("minItems", min);
                s.put("maxItems", min + r.nextInt(0, 3));
            }
            case 3 -> {
                ArrayNode values = s.putArray("enum");
                values.add("red").add(7).add(r.nextBoolean() ? "a \"quoted\" word" : "blue");
                if (r.nextBoolean()) values.addNull();
            }
            case 4 -> {
                s.put("type", "string");
                int min = r.nextInt(0, 3);
                s.put("minLength", min);
                s.put("maxLength", min + r.nextInt(0, 6));
            }
            case 5 -> {
                s.put("type", "integer");
                int lo = r.nextInt(-1000, 1000);
                s.put("minimum", lo);
                s.put("maximum", lo + r.nextInt(0, 5000));
            }
            case 6 -> {
                s.put("type", "number");
                double lo = r.nextInt(-500, 500) / 4.0;
                s.put("minimum", lo);
                s.put(r.nextBoolean() ? "maximum" : "exclusiveMaximum", lo + r.nextInt(1, 400) / 4.0);
            }
            default -> {
                ArrayNode types = s.putArray("type");
                types.add("boolean").add("null");
            }
        }
        return s;
    }

    /** The error in {@code v} against {@code s} (the keywords {@link #randomSchema} uses), or null. */
    static String validate(JsonNode s, JsonNode v, String path) {
        if (s.has("enum")) {
            for (JsonNode option : s.get("enum")) if (option.equals(v)) return null;
            return path + ": " + v + " is not in the enum";
        }
        JsonNode type = s.get("type");
        if (type.isArray()) {
            for (JsonNode t : type) if (validate(Json.MAPPER.createObjectNode().put("type", t.textValue()), v, path) == null) return null;
            return path + ": " + v + " has none of the types " + type;
        }
        switch (type.textValue()) {
            case "object" -> {
                if (!v.isObject()) return path + ": not an object";
                Set<String> names = new HashSet<>();
                for (var e : v.properties()) {
                    names.add(e.getKey());
                    JsonNode ps = s.get("properties").get(e.getKey());
                    if (ps == null) return path + ": unknown property " + e.getKey();
                    String error = validate(ps, e.getValue(), path + "/" + e.getKey());
                    if (error != null) return error;
                }
                if (s.has("required")) for (JsonNode r : s.get("required")) {
                    if (!names.contains(r.textValue())) return path + ": missing " + r.textValue();
                }
                return null;
            }
            case "array" -> {
                if (!v.isArray()) return path + ": not an array";
                if (v.size() < s.path("minItems").asInt(0) || v.size() > s.path("maxItems").asInt(Integer.MAX_VALUE)) {
                    return path + ": " + v.size() + " items";
                }
                List<String> errors = new ArrayList<>();
                for (int i = 0; i < v.size(); i++) {
                    String error = validate(s.get("items"), v.get(i), path + "/" + i);
                    if (error != null) errors.add(error);
                }
                return errors.isEmpty() ? null : errors.getFirst();
            }
            case "string" -> {
                if (!v.isTextual()) return path + ": not a string";
                int length = v.textValue().codePointCount(0, v.textValue().length());
                return length < s.path("minLength").asInt(0) || length > s.path("maxLength").asInt(Integer.MAX_VALUE)
                        ? path + ": length " + length : null;
            }
            case "integer", "number" -> {
                if (!v.isNumber() || type.textValue().equals("integer") && !v.isIntegralNumber()) return path + ": not a " + type.textValue();
                double d = v.doubleValue();
                boolean ok = (!s.has("minimum") || d >= s.get("minimum").doubleValue())
                        && (!s.has("maximum") || d <= s.get("maximum").doubleValue())
                        && (!s.has("exclusiveMaximum") || d < s.get("exclusiveMaximum").doubleValue());
                return ok ? null : path + ": " + v + " out of bounds";
            }
            case "boolean" -> {
                return v.isBoolean() ? null : path + ": not a boolean";
            }
            case "null" -> {
                return v.isNull() ? null : path + ": not null";
            }
            default -> throw new IllegalArgumentException("type " + type);
        }
    }
}
