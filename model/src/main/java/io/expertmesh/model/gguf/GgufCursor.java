package io.expertmesh.model.gguf;

import io.expertmesh.model.ModelFormatException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Reads the little-endian header of a mapped GGUF file front to back. Every read is checked against
 * the bytes left in the file first, and so is every count before anything is allocated for it: a
 * corrupt length or count is a one-line error naming the file and what was being read, never an
 * allocation of gigabytes.
 */
final class GgufCursor {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Java arrays stop a little short of Integer.MAX_VALUE elements. */
    private static final long MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    private final Path path;
    private final MemorySegment file;
    private long position;

    GgufCursor(Path path, MemorySegment file) {
        this.path = path;
        this.file = file;
    }

    long position() {
        return position;
    }

    long remaining() {
        return file.byteSize() - position;
    }

    ModelFormatException error(String message) {
        return new ModelFormatException(path + ": " + message);
    }

    /** Fails unless {@code bytes} more bytes are in the file. */
    void need(long bytes, String what) {
        if (bytes < 0 || bytes > remaining()) {
            throw error("truncated file: " + what + " needs " + (bytes < 0 ? Long.toUnsignedString(bytes) : bytes) + " bytes at byte "
                    + position + ", but the file ends at byte " + file.byteSize());
        }
    }

    byte u8(String what) {
        need(1, what);
        return file.get(ValueLayout.JAVA_BYTE, position++);
    }

    short u16(String what) {
        need(2, what);
        short v = file.get(U16, position);
        position += 2;
        return v;
    }

    int u32(String what) {
        need(4, what);
        int v = file.get(U32, position);
        position += 4;
        return v;
    }

    long u64(String what) {
        need(8, what);
        long v = file.get(U64, position);
        position += 8;
        return v;
    }

    float f32(String what) {
        need(4, what);
        float v = file.get(F32, position);
        position += 4;
        return v;
    }

    double f64(String what) {
        need(8, what);
        double v = file.get(F64, position);
        position += 8;
        return v;
    }

    /** A u64 length and that many bytes of UTF-8; the length is checked against the bytes left before they are copied. */
    String string(String what) {
        long length = u64(what + " (its length)");
        if (length < 0 || length > remaining()) {
            throw error(what + ": a string of " + Long.toUnsignedString(length) + " bytes at byte " + (position - 8)
                    + " is longer than the " + remaining() + " bytes left in the file");
        }
        if (length > MAX_ARRAY_LENGTH) throw error(what + ": a string of " + length + " bytes is too long to read");
        byte[] bytes = file.asSlice(position, length).toArray(ValueLayout.JAVA_BYTE);
        position += length;
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * A u64 count of items that take at least {@code minBytesEach} bytes each in the rest of the file;
     * a count the rest of the file cannot hold is refused before anything is allocated for it.
     */
    long count(String what, int minBytesEach) {
        long at = position;
        long n = u64(what);
        if (n < 0 || n > remaining() / minBytesEach) {
            throw error(what + " is " + Long.toUnsignedString(n) + " (at byte " + at + "), but the " + remaining()
                    + " bytes left in the file hold at most " + remaining() / minBytesEach);
        }
        return n;
    }

    /** A count checked by {@link #count} that a Java array can also hold. */
    int arrayLength(long n, String what) {
        if (n > MAX_ARRAY_LENGTH) throw error(what + ": " + n + " elements are too many to read");
        return (int) n;
    }

    /** {@code n} fixed-size elements in one copy; {@code n} was checked by {@link #count}. */
    Object primitives(GgufValueType type, long n, String what) {
        int length = arrayLength(n, what);
        need(n * type.minBytes(), what);
        long at = position;
        position += n * type.minBytes();
        return switch (type) {
            case UINT8, INT8 -> file.asSlice(at, n).toArray(ValueLayout.JAVA_BYTE);
            case BOOL -> {
                boolean[] out = new boolean[length];
                for (int i = 0; i < length; i++) out[i] = file.get(ValueLayout.JAVA_BYTE, at + i) != 0;
                yield out;
            }
            case UINT16, INT16 -> copy(at, U16, new short[length], length);
            case UINT32, INT32 -> copy(at, U32, new int[length], length);
            case UINT64, INT64 -> copy(at, U64, new long[length], length);
            case FLOAT32 -> copy(at, F32, new float[length], length);
            case FLOAT64 -> copy(at, F64, new double[length], length);
            case STRING, ARRAY -> throw new IllegalArgumentException(type + " elements have no fixed size");
        };
    }

    private <A> A copy(long at, ValueLayout layout, A into, int length) {
        MemorySegment.copy(file, layout, at, into, 0, length);
        return into;
    }
}
