package io.expertmesh.model.guided;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A regular language over UTF-8 bytes, the common form that JSON schemas, regexes and choices
 * compile to before {@link ByteAutomaton} makes it a DFA.
 */
sealed interface BytePattern {
    /** One byte out of a set (bit b of the 256-bit set means byte b). */
    record Bytes(long[] set) implements BytePattern {}

    record Concat(List<BytePattern> parts) implements BytePattern {}

    record Alt(List<BytePattern> options) implements BytePattern {}

    /** {@code min} to {@code max} repetitions; {@code max == UNBOUNDED} for no limit. */
    record Repeat(BytePattern item, int min, int max) implements BytePattern {}

    /** {@code item (separator item)*}: one copy of {@code item} however long the list, which keeps nested JSON small. */
    record Separated(BytePattern item, BytePattern separator) implements BytePattern {}

    int UNBOUNDED = -1;

    static BytePattern empty() {
        return new Concat(List.of());
    }

    static BytePattern literal(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        List<BytePattern> parts = new ArrayList<>(bytes.length);
        for (byte b : bytes) parts.add(range(b & 0xFF, b & 0xFF));
        return new Concat(parts);
    }

    /** One byte in [lo, hi]. */
    static Bytes range(int lo, int hi) {
        long[] set = new long[4];
        for (int b = lo; b <= hi; b++) set[b >>> 6] |= 1L << b;
        return new Bytes(set);
    }

    static Bytes union(Bytes a, Bytes b) {
        long[] set = new long[4];
        for (int i = 0; i < 4; i++) set[i] = a.set()[i] | b.set()[i];
        return new Bytes(set);
    }

    static Bytes minus(Bytes a, Bytes b) {
        long[] set = new long[4];
        for (int i = 0; i < 4; i++) set[i] = a.set()[i] & ~b.set()[i];
        return new Bytes(set);
    }

    static BytePattern concat(BytePattern... parts) {
        return new Concat(List.of(parts));
    }

    static BytePattern alt(BytePattern... options) {
        return new Alt(List.of(options));
    }

    static BytePattern optional(BytePattern p) {
        return new Repeat(p, 0, 1);
    }

    /**
     * One well-formed UTF-8 encoded character outside ASCII (no surrogates, nothing over U+10FFFF),
     * so that lengths count characters and output always decodes.
     */
    static BytePattern multiByteChar() {
        Bytes tail = range(0x80, 0xBF);
        return alt(
                concat(range(0xC2, 0xDF), tail),
                concat(range(0xE0, 0xE0), range(0xA0, 0xBF), tail),
                concat(range(0xE1, 0xEC), tail, tail),
                concat(range(0xED, 0xED), range(0x80, 0x9F), tail),
                concat(range(0xEE, 0xEF), tail, tail),
                concat(range(0xF0, 0xF0), range(0x90, 0xBF), tail, tail),
                concat(range(0xF1, 0xF3), tail, tail, tail),
                concat(range(0xF4, 0xF4), range(0x80, 0x8F), tail, tail));
    }
}
