package io.expertmesh.protocol;

import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.util.Arrays;

/**
 * BF16 values in about 1.5 bytes each, exactly. A value's low byte (the last exponent bit and the
 * mantissa) looks random and is stored as it is; its high byte (sign and seven exponent bits) takes
 * few values in a layer's activations, so it is stored as a 4-bit index into a table of the 15
 * most frequent high bytes, index 15 meaning "stored after the indices". When that does not pay
 * (too many distinct high bytes), the values are stored as plain 2-byte BF16.
 *
 * <p>Layout: a mode byte (0 plain, 1 packed); plain: 2 bytes per value; packed: the table size and
 * table, the low bytes, the 4-bit indices two per byte, then the high bytes of the escaped values.
 */
final class Bf16Packing {
    private static final int ESCAPE = 15;

    private Bf16Packing() {}

    static void write(Output out, short[] values) {
        int n = values.length;
        int[] counts = new int[256];
        for (short v : values) counts[(v >>> 8) & 0xFF]++;
        int[] table = mostFrequent(counts);
        int[] index = new int[256];
        Arrays.fill(index, ESCAPE);
        int covered = 0;
        for (int t = 0; t < table.length; t++) {
            index[table[t]] = t;
            covered += counts[table[t]];
        }
        int escaped = n - covered;
        long packed = 2L + table.length + n + (n + 1) / 2 + escaped;
        if (packed >= 2L * n + 1) {
            out.writeByte(0);
            for (short v : values) out.writeShort(v);
            return;
        }
        out.writeByte(1);
        out.writeByte(table.length);
        for (int h : table) out.writeByte(h);
        for (short v : values) out.writeByte(v);
        for (int i = 0; i < n; i += 2) {
            int lo = index[(values[i] >>> 8) & 0xFF];
            int hi = i + 1 < n ? index[(values[i + 1] >>> 8) & 0xFF] : 0;
            out.writeByte(lo | hi << 4);
        }
        for (short v : values) {
            int h = (v >>> 8) & 0xFF;
            if (index[h] == ESCAPE) out.writeByte(h);
        }
    }

    static short[] read(Input in, int n) {
        short[] values = new short[n];
        if (in.readByte() == 0) {
            for (int i = 0; i < n; i++) values[i] = in.readShort();
            return values;
        }
        int size = in.readByteUnsigned();
        if (size > ESCAPE) throw new IllegalArgumentException("BF16 table of " + size + " entries, at most " + ESCAPE);
        int[] table = new int[size];
        for (int t = 0; t < size; t++) table[t] = in.readByteUnsigned();
        for (int i = 0; i < n; i++) values[i] = (short) in.readByteUnsigned();
        byte[] nibbles = in.readBytes((n + 1) / 2);
        for (int i = 0; i < n; i++) {
            int code = (nibbles[i >> 1] >>> ((i & 1) * 4)) & 0xF;
            int high;
            if (code == ESCAPE) {
                high = in.readByteUnsigned();
            } else if (code < size) {
                high = table[code];
            } else {
                throw new IllegalArgumentException("BF16 index " + code + " outside a table of " + size);
            }
            values[i] = (short) (values[i] | high << 8);
        }
        return values;
    }

    /** Up to 15 high bytes that occur, most frequent first (ties: smaller byte first). */
    private static int[] mostFrequent(int[] counts) {
        int[] chosen = new int[ESCAPE];
        boolean[] taken = new boolean[256];
        int size = 0;
        while (size < ESCAPE) {
            int best = -1;
            for (int h = 0; h < 256; h++) if (!taken[h] && counts[h] > 0 && (best < 0 || counts[h] > counts[best])) best = h;
            if (best < 0) break;
            taken[best] = true;
            chosen[size++] = best;
        }
        return Arrays.copyOf(chosen, size);
    }
}
