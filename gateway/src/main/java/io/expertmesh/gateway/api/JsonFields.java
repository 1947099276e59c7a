package io.expertmesh.gateway.api;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.function.DoublePredicate;

/**
 * Typed, range-checked reads of one JSON object's fields. A field that is absent or JSON null reads
 * as absent. A wrong type or value is an {@link ApiException} (400) whose {@code param} is the
 * top-level request field and whose message names the exact path, what is expected and what came.
 */
final class JsonFields {
    /** Longest rendering of an offending value quoted in a message. */
    private static final int MAX_QUOTED = 50;

    private final JsonNode object;
    private final String param;
    private final String pathPrefix;

    private JsonFields(JsonNode object, String param, String pathPrefix) {
        this.object = object;
        this.param = param;
        this.pathPrefix = pathPrefix;
    }

    /** The fields of a request body, which must be a JSON object. */
    static JsonFields ofBody(JsonNode body) {
        if (body == null || !body.isObject()) throw ApiException.badRequest("request body must be a JSON object", null);
        return new JsonFields(body, null, "");
    }

    /** The fields of an object inside the body at {@code path}; errors name {@code param}. */
    static JsonFields nested(JsonNode object, String param, String path) {
        return new JsonFields(object, param, path + ".");
    }

    /** The value of {@code name}, or null when absent or JSON null. */
    JsonNode get(String name) {
        JsonNode value = object.get(name);
        return value == null || value.isNull() ? null : value;
    }

    String param(String name) {
        return param != null ? param : name;
    }

    String path(String name) {
        return pathPrefix + name;
    }

    /** A 400 for field {@code name}: "'path' must be {expected}, got {value}". */
    ApiException invalid(String name, String expected, JsonNode got) {
        return invalid(param(name), path(name), expected, got);
    }

    static ApiException invalid(String param, String path, String expected, JsonNode got) {
        return ApiException.badRequest("'" + path + "' must be " + expected + ", got " + quote(got), param);
    }

    String string(String name) {
        JsonNode v = get(name);
        if (v == null) return null;
        if (!v.isTextual()) throw invalid(name, "a string", v);
        return v.textValue();
    }

    boolean bool(String name, boolean absent) {
        JsonNode v = get(name);
        if (v == null) return absent;
        if (!v.isBoolean()) throw invalid(name, "a boolean", v);
        return v.booleanValue();
    }

    /** An integer in [min, max], or null when absent; {@code expected} describes the range. */
    Long integer(String name, long min, long max, String expected) {
        JsonNode v = get(name);
        if (v == null) return null;
        Long value = exactLong(v);
        if (value == null || value < min || value > max) throw invalid(name, expected, v);
        return value;
    }

    /** A number accepted by {@code ok} once narrowed to float, or {@code absent}. */
    float number(String name, DoublePredicate ok, String expected, float absent) {
        JsonNode v = get(name);
        if (v == null) return absent;
        if (!v.isNumber()) throw invalid(name, expected, v);
        // Check the float the sampler will see, so rounding cannot push a value out of range.
        float value = (float) v.doubleValue();
        if (!Float.isFinite(value) || !ok.test(value)) throw invalid(name, expected, v);
        return value;
    }

    /**
     * The value of an integral JSON number ({@code 5}, also {@code 5.0} or {@code 5e0}) or null when
     * the node is not a number, has a fraction, or is outside the range of a long.
     */
    static Long exactLong(JsonNode v) {
        if (!v.isNumber()) return null;
        if (v.isIntegralNumber() && v.canConvertToLong()) return v.longValue();
        try {
            return v.decimalValue().longValueExact();
        } catch (ArithmeticException | NumberFormatException e) { // a fraction, out of range, or infinite
            return null;
        }
    }

    /** The value as JSON, cut to about {@value #MAX_QUOTED} characters. */
    static String quote(JsonNode v) {
        String s = v == null ? "null" : v.toString();
        if (s.length() <= MAX_QUOTED) return s;
        int end = Character.isHighSurrogate(s.charAt(MAX_QUOTED - 1)) ? MAX_QUOTED - 1 : MAX_QUOTED;
        return s.substring(0, end) + "...";
    }
}
