package io.expertmesh.model.gguf;

import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * One GGUF metadata value and its type. Scalars are held as the Java type of their width: 8-bit
 * integers as Byte, 16-bit as Short, 32-bit as Integer, 64-bit as Long (unsigned ones keep their bits),
 * FLOAT32 as Float, FLOAT64 as Double, BOOL as Boolean, STRING as String. An array holds its elements
 * in the primitive array of the same mapping (byte[], short[], int[], long[], float[], double[],
 * boolean[], String[]), so a long array costs what it costs in the file. Arrays of arrays are refused:
 * llama.cpp does not read them either.
 */
public final class GgufValue {
    private final GgufValueType type;
    private final GgufValueType elementType;
    private final Object value;

    private GgufValue(GgufValueType type, GgufValueType elementType, Object value) {
        this.type = type;
        this.elementType = elementType;
        this.value = value;
    }

    public static GgufValue uint8(int v) {
        return new GgufValue(GgufValueType.UINT8, null, (byte) inRange(v, 0, 0xFF, "UINT8"));
    }

    public static GgufValue int8(int v) {
        return new GgufValue(GgufValueType.INT8, null, (byte) inRange(v, Byte.MIN_VALUE, Byte.MAX_VALUE, "INT8"));
    }

    public static GgufValue uint16(int v) {
        return new GgufValue(GgufValueType.UINT16, null, (short) inRange(v, 0, 0xFFFF, "UINT16"));
    }

    public static GgufValue int16(int v) {
        return new GgufValue(GgufValueType.INT16, null, (short) inRange(v, Short.MIN_VALUE, Short.MAX_VALUE, "INT16"));
    }

    public static GgufValue uint32(long v) {
        return new GgufValue(GgufValueType.UINT32, null, (int) inRange(v, 0, 0xFFFF_FFFFL, "UINT32"));
    }

    public static GgufValue int32(int v) {
        return new GgufValue(GgufValueType.INT32, null, v);
    }

    /** An unsigned 64-bit value given by its bits ({@link Long#parseUnsignedLong} spells the large ones). */
    public static GgufValue uint64(long bits) {
        return new GgufValue(GgufValueType.UINT64, null, bits);
    }

    public static GgufValue int64(long v) {
        return new GgufValue(GgufValueType.INT64, null, v);
    }

    public static GgufValue float32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, null, v);
    }

    public static GgufValue float64(double v) {
        return new GgufValue(GgufValueType.FLOAT64, null, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, null, v);
    }

    public static GgufValue string(String v) {
        return new GgufValue(GgufValueType.STRING, null, Objects.requireNonNull(v, "string value"));
    }

    /**
     * An array of {@code elementType} holding {@code elements}, a primitive array of that type's Java
     * mapping (see the class comment); it is copied.
     */
    public static GgufValue array(GgufValueType elementType, Object elements) {
        if (elementType == GgufValueType.ARRAY) throw new IllegalArgumentException("GGUF arrays of arrays are not supported");
        Class<?> expected = javaArrayClass(elementType);
        if (elements == null || elements.getClass() != expected) {
            throw new IllegalArgumentException("an array of " + elementType + " is held as " + expected.getSimpleName()
                    + ", not " + (elements == null ? "null" : elements.getClass().getSimpleName()));
        }
        if (elements instanceof String[] strings) {
            for (String s : strings) Objects.requireNonNull(s, "string array element");
        }
        int n = Array.getLength(elements);
        Object copy = Array.newInstance(expected.getComponentType(), n);
        System.arraycopy(elements, 0, copy, 0, n);
        return new GgufValue(GgufValueType.ARRAY, elementType, copy);
    }

    public static GgufValue strings(List<String> elements) {
        return array(GgufValueType.STRING, elements.toArray(String[]::new));
    }

    public static GgufValue int32s(int[] elements) {
        return array(GgufValueType.INT32, elements);
    }

    public static GgufValue float32s(float[] elements) {
        return array(GgufValueType.FLOAT32, elements);
    }

    /** A value read from a file: {@code value} is already of the Java type of {@code type}, and never shared. */
    static GgufValue read(GgufValueType type, GgufValueType elementType, Object value) {
        return new GgufValue(type, elementType, value);
    }

    public GgufValueType type() {
        return type;
    }

    /** The type of an array's elements; null for a scalar. */
    public GgufValueType elementType() {
        return elementType;
    }

    public boolean isArray() {
        return type == GgufValueType.ARRAY;
    }

    public int length() {
        if (!isArray()) throw new IllegalStateException(type + " is not an array");
        return Array.getLength(value);
    }

    /** The raw Java value (see the class comment); an array is the value's own, not a copy. */
    Object raw() {
        return value;
    }

    /** A scalar integer as a long: unsigned types zero-extended, UINT64 as its bits. */
    long integer() {
        return asLong(type, value);
    }

    /** Element {@code i} of an integer array as a long, as {@link #integer()} widens scalars. */
    long integerAt(int i) {
        return asLong(elementType, Array.get(value, i));
    }

    /** The elements of an array, boxed as its scalars are (Byte, Short, Integer, Long, Float, Double, Boolean, String). */
    public List<Object> elements() {
        int n = length();
        List<Object> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(Array.get(value, i));
        return Collections.unmodifiableList(out);
    }

    /** The value in the spelling its type suggests: unsigned integers unsigned, arrays with their elements. */
    @Override
    public String toString() {
        if (!isArray()) return scalarText(type, value);
        int n = length();
        StringBuilder sb = new StringBuilder(elementType + "[" + n + "] [");
        for (int i = 0; i < Math.min(n, 8); i++) sb.append(i == 0 ? "" : ", ").append(scalarText(elementType, Array.get(value, i)));
        return sb.append(n > 8 ? ", ...]" : "]").toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufValue v && type == v.type && elementType == v.elementType
                && Arrays.deepEquals(new Object[] {value}, new Object[] {v.value});
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, elementType, Arrays.deepHashCode(new Object[] {value}));
    }

    static Class<?> javaArrayClass(GgufValueType elementType) {
        return switch (elementType) {
            case UINT8, INT8 -> byte[].class;
            case UINT16, INT16 -> short[].class;
            case UINT32, INT32 -> int[].class;
            case UINT64, INT64 -> long[].class;
            case FLOAT32 -> float[].class;
            case FLOAT64 -> double[].class;
            case BOOL -> boolean[].class;
            case STRING -> String[].class;
            case ARRAY -> throw new IllegalArgumentException("GGUF arrays of arrays are not supported");
        };
    }

    private static long asLong(GgufValueType type, Object v) {
        return switch (type) {
            case UINT8 -> Byte.toUnsignedLong((Byte) v);
            case UINT16 -> Short.toUnsignedLong((Short) v);
            case UINT32 -> Integer.toUnsignedLong((Integer) v);
            case INT8, INT16, INT32, INT64, UINT64 -> ((Number) v).longValue();
            default -> throw new IllegalStateException(type + " is not an integer type");
        };
    }

    private static String scalarText(GgufValueType type, Object v) {
        return switch (type) {
            case UINT64 -> Long.toUnsignedString((Long) v);
            case UINT8, UINT16, UINT32 -> Long.toString(asLong(type, v));
            case STRING -> "\"" + v + "\"";
            default -> String.valueOf(v);
        };
    }

    private static long inRange(long v, long min, long max, String type) {
        if (v < min || v > max) throw new IllegalArgumentException(v + " is outside the range of " + type + " [" + min + ", " + max + "]");
        return v;
    }
}
