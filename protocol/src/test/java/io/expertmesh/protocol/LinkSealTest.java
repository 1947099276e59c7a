package io.expertmesh.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Sealed link records open only in order, unaltered, once, under the key they were sealed with. */
class LinkSealTest {
    private static final byte[] KEY = new byte[32];
    private static final byte[] OTHER_KEY = new byte[32];

    static {
        Arrays.fill(KEY, (byte) 7);
        Arrays.fill(OTHER_KEY, (byte) 9);
    }

    /** The wire bytes of {@code records}, each sealed as one record by one sender. */
    private static byte[] sealed(byte[]... records) throws IOException {
        var wire = new ByteArrayOutputStream();
        var out = new LinkSeal.Output(new LinkSeal(KEY), wire, 1 << 20);
        for (byte[] r : records) {
            out.write(r);
            out.flush();
        }
        return wire.toByteArray();
    }

    private static DataInputStream opened(byte[] wire, byte[] key) {
        return new DataInputStream(new LinkSeal.Input(new LinkSeal(key), new ByteArrayInputStream(wire), 1 << 20));
    }

    @Test
    void recordsOpenInOrderUnderTheirKey() throws IOException {
        byte[] wire = sealed(new byte[] {1, 2, 3}, new byte[5000]);
        var in = opened(wire, KEY);
        assertArrayEquals(new byte[] {1, 2, 3}, in.readNBytes(3));
        assertArrayEquals(new byte[5000], in.readNBytes(5000));
        assertEquals(-1, in.read());
        assertEquals(2 * (4 + LinkSeal.TAG_BYTES) + 3 + 5000, wire.length);
    }

    @Test
    void anAlteredByteEndsTheStream() throws IOException {
        byte[] wire = sealed(new byte[] {1, 2, 3});
        wire[6] ^= 1;
        var e = assertThrows(IOException.class, () -> opened(wire, KEY).read());
        assertTrue(e.getMessage().contains("does not open"), e.getMessage());
    }

    @Test
    void aReplayedOrReorderedRecordDoesNotOpen() throws IOException {
        byte[] one = sealed(new byte[] {1});
        byte[] replayed = new byte[2 * one.length];
        System.arraycopy(one, 0, replayed, 0, one.length);
        System.arraycopy(one, 0, replayed, one.length, one.length);
        var in = opened(replayed, KEY);
        assertEquals(1, in.read());
        assertThrows(IOException.class, in::read);
        byte[] two = sealed(new byte[] {1}, new byte[] {2});
        int first = one.length;
        byte[] swapped = new byte[two.length];
        System.arraycopy(two, first, swapped, 0, two.length - first);
        System.arraycopy(two, 0, swapped, two.length - first, first);
        assertThrows(IOException.class, () -> opened(swapped, KEY).read());
    }

    @Test
    void aRecordUnderAnotherKeyDoesNotOpen() throws IOException {
        assertThrows(IOException.class, () -> opened(sealed(new byte[] {1}), OTHER_KEY).read());
    }

    @Test
    void aRecordAnnouncedOverTheLimitIsRefusedBeforeItIsRead() {
        byte[] wire = {0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 1, 2, 3};
        var e = assertThrows(IOException.class, () -> opened(wire, KEY).read());
        assertTrue(e.getMessage().contains("outside its limits"), e.getMessage());
    }

    @Test
    void writingMoreThanTheLimitBetweenFlushesFails() {
        var out = new LinkSeal.Output(new LinkSeal(KEY), new ByteArrayOutputStream(), 100);
        assertThrows(IOException.class, () -> out.write(new byte[101]));
    }
}
