package io.expertmesh.model.gguf;

import io.expertmesh.model.ModelFormatException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The key/value metadata of one GGUF file, with typed getters whose errors name the file and the key
 * (missing, or of another type than asked for).
 */
public final class GgufMetadata {
    private final Path file;
    private final Map<String, GgufValue> values;

    GgufMetadata(Path file, Map<String, GgufValue> values) {
        this.file = file;
        this.values = Collections.unmodifiableMap(values);
    }

    /** The file the metadata was read from, for error messages. */
    public Path file() {
        return file;
    }

    public Set<String> keys() {
        return values.keySet();
    }

    /** Every value, in the order of the file. */
    public Map<String, GgufValue> values() {
        return values;
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    public Optional<GgufValue> find(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public GgufValue value(String key) {
        GgufValue v = values.get(key);
        if (v == null) throw new ModelFormatException(file + ": metadata key " + key + " is missing");
        return v;
    }

    public String string(String key) {
        return (String) scalar(key, GgufValueType.STRING).raw();
    }

    /** An integer of any width or signedness whose value fits an int. */
    public int integer(String key) {
        GgufValue v = value(key);
        if (v.type().isInteger()) {
            long n = v.integer();
            boolean fits = v.type() == GgufValueType.UINT64 ? n >= 0 && n <= Integer.MAX_VALUE : n == (int) n;
            if (fits) return (int) n;
        }
        throw wrongType(key, v, "an integer that fits in 32 bits");
    }

    /** A FLOAT32, or a FLOAT64 narrowed to float. */
    public float number(String key) {
        GgufValue v = value(key);
        return switch (v.type()) {
            case FLOAT32 -> (Float) v.raw();
            case FLOAT64 -> (float) (double) (Double) v.raw();
            default -> throw wrongType(key, v, "FLOAT32 or FLOAT64");
        };
    }

    public boolean bool(String key) {
        return (Boolean) scalar(key, GgufValueType.BOOL).raw();
    }

    public String[] strings(String key) {
        return ((String[]) array(key, GgufValueType.STRING).raw()).clone();
    }

    /** An array of any integer type whose elements all fit an int. */
    public int[] integers(String key) {
        GgufValue v = value(key);
        if (!v.isArray() || !v.elementType().isInteger()) throw wrongType(key, v, "an array of integers");
        int[] out = new int[v.length()];
        for (int i = 0; i < out.length; i++) {
            long n = v.integerAt(i);
            boolean fits = v.elementType() == GgufValueType.UINT64 ? n >= 0 && n <= Integer.MAX_VALUE : n == (int) n;
            if (!fits) throw wrongType(key, v, "an array of integers that fit in 32 bits (element " + i + " does not)");
            out[i] = (int) n;
        }
        return out;
    }

    /** An array of FLOAT32, or of FLOAT64 narrowed to float. */
    public float[] floats(String key) {
        GgufValue v = value(key);
        if (v.isArray() && v.elementType() == GgufValueType.FLOAT32) return ((float[]) v.raw()).clone();
        if (v.isArray() && v.elementType() == GgufValueType.FLOAT64) {
            double[] d = (double[]) v.raw();
            float[] out = new float[d.length];
            for (int i = 0; i < d.length; i++) out[i] = (float) d[i];
            return out;
        }
        throw wrongType(key, v, "an array of FLOAT32 or FLOAT64");
    }

    /** An array of any element type, its elements boxed (see {@link GgufValue#elements()}). */
    public List<Object> list(String key) {
        GgufValue v = value(key);
        if (!v.isArray()) throw wrongType(key, v, "an array");
        return v.elements();
    }

    /** The number of elements of an array, without copying them. */
    public int length(String key) {
        GgufValue v = value(key);
        if (!v.isArray()) throw wrongType(key, v, "an array");
        return v.length();
    }

    private GgufValue scalar(String key, GgufValueType type) {
        GgufValue v = value(key);
        if (v.type() != type) throw wrongType(key, v, type.name());
        return v;
    }

    private GgufValue array(String key, GgufValueType elementType) {
        GgufValue v = value(key);
        if (!v.isArray() || v.elementType() != elementType) throw wrongType(key, v, "an array of " + elementType);
        return v;
    }

    private ModelFormatException wrongType(String key, GgufValue v, String expected) {
        String found = v.isArray() ? "an array of " + v.elementType() : v.type() + " " + v;
        return new ModelFormatException(file + ": metadata key " + key + " should be " + expected + ", but is " + found);
    }
}
