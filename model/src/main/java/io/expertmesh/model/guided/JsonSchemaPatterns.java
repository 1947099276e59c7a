package io.expertmesh.model.guided;

import static io.expertmesh.model.guided.BytePattern.alt;
import static io.expertmesh.model.guided.BytePattern.concat;
import static io.expertmesh.model.guided.BytePattern.literal;
import static io.expertmesh.model.guided.BytePattern.optional;
import static io.expertmesh.model.guided.BytePattern.range;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * JSON schema to the byte language of compact JSON (no whitespace outside strings) valid against it.
 * Where a schema allows more than a finite automaton can say, the language is a valid subset:
 *
 * <ul>
 *   <li>types {@code object, array, string, integer, number, boolean, null} (one or a list),
 *       {@code enum}, {@code const}, {@code anyOf}; no type and no keyword means any JSON value;</li>
 *   <li>objects: {@code properties} (at most {@value #MAX_PROPERTIES}, written in the schema's order), {@code required},
 *       {@code additionalProperties} false or absent (no other property is written); an object
 *       schema without {@code properties} is any object;</li>
 *   <li>arrays: {@code items}, {@code minItems}, {@code maxItems};</li>
 *   <li>strings: {@code minLength}, {@code maxLength} (characters); escapes are limited to
 *       {@code \" \\ \/ \b \f \n \r \t};</li>
 *   <li>numbers: {@code minimum}, {@code maximum}, {@code exclusiveMinimum}, {@code exclusiveMaximum};
 *       integers have at most {@value #MAX_INTEGER_DIGITS} digits, and fractions 1 to
 *       {@value #MAX_FRACTION_DIGITS} digits and no exponent;</li>
 *   <li>values of "any JSON" nest at most {@value #ANY_VALUE_DEPTH} deep.</li>
 * </ul>
 *
 * Annotations ({@code title, description, default, examples, $schema, $id, $comment}) are ignored;
 * any other keyword is a {@link GuideException} naming it.
 */
public final class JsonSchemaPatterns {
    public static final int ANY_VALUE_DEPTH = 5;
    public static final int MAX_SCHEMA_DEPTH = 32;
    public static final int MAX_INTEGER_DIGITS = 15;
    public static final int MAX_FRACTION_DIGITS = 6;
    /** Repetition counts (maxItems, maxLength) above this are refused: each bound copies its item. */
    public static final int MAX_REPEAT = 256;
    /** Properties per object: optional ones make the pattern grow with the square of their number. */
    public static final int MAX_PROPERTIES = 64;

    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples", "$schema", "$id", "$comment");
    private static final Set<String> TYPES = Set.of("object", "array", "string", "integer", "number", "boolean", "null");
    private static final long INTEGER_LIMIT = 999_999_999_999_999L;

    private JsonSchemaPatterns() {}

    static BytePattern anyObject() {
        return object(anyValue(ANY_VALUE_DEPTH - 1));
    }

    static BytePattern compile(JsonNode schema) {
        return schema(schema, "#", 0);
    }

    private static BytePattern schema(JsonNode s, String path, int depth) {
        if (depth > MAX_SCHEMA_DEPTH) throw new GuideException("the JSON schema nests deeper than " + MAX_SCHEMA_DEPTH + " at " + path);
        if (s.isBoolean() && s.booleanValue()) return anyValue(ANY_VALUE_DEPTH);
        if (!s.isObject()) throw new GuideException("the JSON schema at " + path + " must be an object");
        Set<String> unsupported = new TreeSet<>();
        for (Iterator<String> names = s.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!ANNOTATIONS.contains(name) && !supported(name)) unsupported.add(name);
        }
        if (!unsupported.isEmpty()) {
            throw new GuideException("unsupported JSON schema keyword(s) at " + path + ": " + String.join(", ", unsupported));
        }
        if (s.has("const")) return literal(Json.write(s.get("const")));
        if (s.has("enum")) {
            JsonNode values = s.get("enum");
            if (!values.isArray() || values.isEmpty()) throw new GuideException("'enum' at " + path + " must be a non-empty array");
            List<BytePattern> options = new ArrayList<>();
            for (JsonNode v : values) options.add(literal(Json.write(v)));
            return new BytePattern.Alt(options);
        }
        if (s.has("anyOf")) {
            JsonNode options = s.get("anyOf");
            if (!options.isArray() || options.isEmpty()) throw new GuideException("'anyOf' at " + path + " must be a non-empty array");
            List<BytePattern> patterns = new ArrayList<>();
            for (int i = 0; i < options.size(); i++) patterns.add(schema(options.get(i), path + "/anyOf/" + i, depth + 1));
            return new BytePattern.Alt(patterns);
        }
        JsonNode type = s.get("type");
        if (type == null) return anyValue(ANY_VALUE_DEPTH);
        if (type.isArray()) {
            List<BytePattern> options = new ArrayList<>();
            for (JsonNode t : type) options.add(typed(s, typeName(t, path), path, depth));
            if (options.isEmpty()) throw new GuideException("'type' at " + path + " is an empty list");
            return new BytePattern.Alt(options);
        }
        return typed(s, typeName(type, path), path, depth);
    }

    private static boolean supported(String keyword) {
        return switch (keyword) {
            case "type", "enum", "const", "anyOf", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
                 "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum" -> true;
            default -> false;
        };
    }

    private static String typeName(JsonNode t, String path) {
        if (!t.isTextual() || !TYPES.contains(t.textValue())) {
            throw new GuideException("'type' at " + path + " must be one of " + new TreeSet<>(TYPES) + ", got " + t);
        }
        return t.textValue();
    }

    private static BytePattern typed(JsonNode s, String type, String path, int depth) {
        return switch (type) {
            case "object" -> objectSchema(s, path, depth);
            case "array" -> arraySchema(s, path, depth);
            case "string" -> string(count(s, "minLength", 0, path), count(s, "maxLength", BytePattern.UNBOUNDED, path));
            case "integer" -> integer(s, path);
            case "number" -> number(s, path);
            case "boolean" -> alt(literal("true"), literal("false"));
            default -> literal("null");
        };
    }

    private static BytePattern objectSchema(JsonNode s, String path, int depth) {
        JsonNode properties = s.get("properties");
        JsonNode additional = s.get("additionalProperties");
        if (additional != null && !additional.isBoolean()) {
            throw new GuideException("unsupported JSON schema keyword(s) at " + path + ": additionalProperties (only true or false)");
        }
        if (properties == null) {
            if (s.has("required") && !s.get("required").isEmpty()) {
                throw new GuideException("'required' at " + path + " names properties that 'properties' does not define");
            }
            return additional != null && !additional.booleanValue() ? literal("{}") : object(anyValue(ANY_VALUE_DEPTH - 1));
        }
        if (!properties.isObject()) throw new GuideException("'properties' at " + path + " must be an object");
        if (properties.size() > MAX_PROPERTIES) {
            throw new GuideException("'properties' at " + path + " has " + properties.size() + " entries; this server's limit is " + MAX_PROPERTIES);
        }
        Set<String> required = new TreeSet<>();
        JsonNode req = s.get("required");
        if (req != null) {
            if (!req.isArray()) throw new GuideException("'required' at " + path + " must be an array of property names");
            for (JsonNode r : req) {
                if (!r.isTextual() || !properties.has(r.textValue())) {
                    throw new GuideException("'required' at " + path + " names " + r + ", which 'properties' does not define");
                }
                required.add(r.textValue());
            }
        }
        List<BytePattern> members = new ArrayList<>();
        List<Boolean> optional = new ArrayList<>();
        for (var e : properties.properties()) {
            members.add(concat(literal(Json.write(e.getKey()) + ":"), schema(e.getValue(), path + "/properties/" + e.getKey(), depth + 1)));
            optional.add(!required.contains(e.getKey()));
        }
        // The first member written is any j with only optional members before it; then each later
        // member follows a comma, optional ones may be skipped.
        List<BytePattern> firsts = new ArrayList<>();
        for (int j = 0; j < members.size(); j++) {
            List<BytePattern> rest = new ArrayList<>();
            rest.add(members.get(j));
            for (int k = j + 1; k < members.size(); k++) {
                BytePattern m = concat(literal(","), members.get(k));
                rest.add(optional.get(k) ? optional(m) : m);
            }
            firsts.add(new BytePattern.Concat(rest));
            if (!optional.get(j)) break;
        }
        boolean allOptional = !optional.contains(false);
        BytePattern body = new BytePattern.Alt(firsts);
        return concat(literal("{"), allOptional ? optional(body) : body, literal("}"));
    }

    private static BytePattern arraySchema(JsonNode s, String path, int depth) {
        JsonNode items = s.get("items");
        BytePattern item = items == null ? anyValue(ANY_VALUE_DEPTH - 1) : schema(items, path + "/items", depth + 1);
        int min = count(s, "minItems", 0, path);
        int max = count(s, "maxItems", BytePattern.UNBOUNDED, path);
        if (max == BytePattern.UNBOUNDED && min <= 1) {
            BytePattern list = new BytePattern.Separated(item, literal(","));
            return concat(literal("["), min == 0 ? optional(list) : list, literal("]"));
        }
        BytePattern rest = new BytePattern.Repeat(concat(literal(","), item), Math.max(min - 1, 0),
                max == BytePattern.UNBOUNDED ? max : max - 1);
        BytePattern list = concat(item, rest);
        if (max == 0) return literal("[]");
        return concat(literal("["), min == 0 ? optional(list) : list, literal("]"));
    }

    private static int count(JsonNode s, String keyword, int absent, String path) {
        JsonNode v = s.get(keyword);
        if (v == null) return absent;
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.intValue() < 0) {
            throw new GuideException("'" + keyword + "' at " + path + " must be a non-negative integer, got " + v);
        }
        if (v.intValue() > MAX_REPEAT) {
            throw new GuideException("'" + keyword + "' at " + path + " is over this server's limit of " + MAX_REPEAT + ", got " + v);
        }
        int min = keyword.startsWith("max") ? count(s, "min" + keyword.substring(3), 0, path) : 0;
        if (v.intValue() < min) throw new GuideException("'" + keyword + "' at " + path + " is below 'min" + keyword.substring(3) + "'");
        return v.intValue();
    }

    /** Any JSON value, with objects and arrays nested at most {@code depth} deep. */
    private static BytePattern anyValue(int depth) {
        List<BytePattern> options = new ArrayList<>(List.of(string(0, BytePattern.UNBOUNDED), unboundedNumber(),
                literal("true"), literal("false"), literal("null")));
        if (depth > 0) {
            BytePattern inner = anyValue(depth - 1);
            options.add(object(inner));
            options.add(concat(literal("["), optional(new BytePattern.Separated(inner, literal(","))), literal("]")));
        }
        return new BytePattern.Alt(options);
    }

    private static BytePattern object(BytePattern value) {
        BytePattern member = concat(string(0, BytePattern.UNBOUNDED), literal(":"), value);
        return concat(literal("{"), optional(new BytePattern.Separated(member, literal(","))), literal("}"));
    }

    /** A JSON string of {@code min} to {@code max} characters. */
    static BytePattern string(int min, int max) {
        BytePattern.Bytes plain = BytePattern.minus(range(0x20, 0x7F),
                BytePattern.union(range('"', '"'), range('\\', '\\')));
        BytePattern.Bytes escapable = BytePattern.union(BytePattern.union(range('"', '"'), range('\\', '\\')),
                BytePattern.union(range('/', '/'), BytePattern.union(BytePattern.union(range('b', 'b'), range('f', 'f')),
                        BytePattern.union(BytePattern.union(range('n', 'n'), range('r', 'r')), range('t', 't')))));
        BytePattern ch = alt(plain, concat(literal("\\"), escapable), BytePattern.multiByteChar());
        return concat(literal("\""), new BytePattern.Repeat(ch, min, max), literal("\""));
    }

    private static BytePattern unboundedNumber() {
        return alt(integers(-INTEGER_LIMIT, INTEGER_LIMIT), concat(optional(literal("-")), integers(0, INTEGER_LIMIT), fraction()));
    }

    private static BytePattern fraction() {
        BytePattern.Bytes digit = range('0', '9');
        // The last digit is not 0, so a fraction is never zero (number bounds below rely on it).
        return concat(literal("."), new BytePattern.Repeat(digit, 0, MAX_FRACTION_DIGITS - 1), range('1', '9'));
    }

    private static BytePattern integer(JsonNode s, String path) {
        long[] bounds = integerBounds(s, path);
        return integers(bounds[0], bounds[1]);
    }

    /**
     * Integers k in range, and k.f (0 < f < 1) whose integer part k lies so that the whole
     * interval (k, k+1) does too; with integer-valued bounds that is every number with at most
     * {@value #MAX_FRACTION_DIGITS} fraction digits.
     */
    private static BytePattern number(JsonNode s, String path) {
        long[] bounds = integerBounds(s, path);
        long lo = bounds[0], hi = bounds[1];
        List<BytePattern> options = new ArrayList<>();
        options.add(integers(lo, hi));
        if (Math.max(lo, 0) <= hi - 1) options.add(concat(integers(Math.max(lo, 0), hi - 1), fraction()));
        if (Math.max(0, -hi) <= -lo - 1) options.add(concat(literal("-"), naturals(Math.max(0, -hi), -lo - 1), fraction()));
        return new BytePattern.Alt(options);
    }

    /** The smallest and largest integer within the schema's bounds and the digit limit. */
    private static long[] integerBounds(JsonNode s, String path) {
        double lo = -INTEGER_LIMIT, hi = INTEGER_LIMIT;
        long ilo = -INTEGER_LIMIT, ihi = INTEGER_LIMIT;
        for (String k : List.of("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")) {
            JsonNode v = s.get(k);
            if (v == null) continue;
            if (!v.isNumber()) throw new GuideException("'" + k + "' at " + path + " must be a number, got " + v);
            double d = v.doubleValue();
            switch (k) {
                case "minimum" -> ilo = Math.max(ilo, (long) Math.max(Math.ceil(d), lo));
                case "exclusiveMinimum" -> ilo = Math.max(ilo, (long) Math.max(Math.floor(d) + 1, lo));
                case "maximum" -> ihi = Math.min(ihi, (long) Math.min(Math.floor(d), hi));
                default -> ihi = Math.min(ihi, (long) Math.min(Math.ceil(d) - 1, hi));
            }
        }
        if (ilo > ihi) throw new GuideException("no number with at most " + MAX_INTEGER_DIGITS + " digits fits the bounds at " + path);
        return new long[] {ilo, ihi};
    }

    /** Decimal integers in [lo, hi], without leading zeros or "-0". */
    private static BytePattern integers(long lo, long hi) {
        List<BytePattern> options = new ArrayList<>();
        if (lo < 0) options.add(concat(literal("-"), naturals(Math.max(1, -hi), -lo)));
        if (hi >= 0) options.add(naturals(Math.max(0, lo), hi));
        return new BytePattern.Alt(options);
    }

    /** Decimal numbers in [lo, hi] for 0 <= lo <= hi, without leading zeros. */
    private static BytePattern naturals(long lo, long hi) {
        List<BytePattern> options = new ArrayList<>();
        String a = Long.toString(lo), b = Long.toString(hi);
        for (int len = a.length(); len <= b.length(); len++) {
            String from = len == a.length() ? a : "1" + "0".repeat(len - 1);
            String to = len == b.length() ? b : "9".repeat(len);
            options.add(sameLength(from, to));
        }
        return new BytePattern.Alt(options);
    }

    /** Digit strings of one length between {@code a} and {@code b} inclusive. */
    private static BytePattern sameLength(String a, String b) {
        if (a.isEmpty()) return BytePattern.empty();
        char a0 = a.charAt(0), b0 = b.charAt(0);
        String aRest = a.substring(1), bRest = b.substring(1);
        if (a0 == b0) return concat(range(a0, a0), sameLength(aRest, bRest));
        if (aRest.chars().allMatch(c -> c == '0') && bRest.chars().allMatch(c -> c == '9')) {
            return concat(range(a0, b0), new BytePattern.Repeat(range('0', '9'), aRest.length(), aRest.length()));
        }
        List<BytePattern> options = new ArrayList<>();
        options.add(concat(range(a0, a0), sameLength(aRest, "9".repeat(aRest.length()))));
        if (b0 - a0 > 1) options.add(concat(range(a0 + 1, b0 - 1), new BytePattern.Repeat(range('0', '9'), aRest.length(), aRest.length())));
        options.add(concat(range(b0, b0), sameLength("0".repeat(bRest.length()), bRest)));
        return new BytePattern.Alt(options);
    }
}
