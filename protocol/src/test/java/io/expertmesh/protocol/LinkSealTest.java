package io.expertmesh.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
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
        return new DataInputStream(new LinkSeal.Input(new LinkSeal(key), new ByteArrayInputStream(wire), 1 << 20, 16));
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

    /** A socket stand-in that hands out at most {@code chunk} bytes per read, as a slow peer's segments arrive. */
    private static final class Trickle extends ByteArrayInputStream {
        private final int chunk;

        Trickle(byte[] wire, int chunk) {
            super(wire);
            this.chunk = chunk;
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) {
            return super.read(b, off, Math.min(len, chunk));
        }
    }

    @Test
    void recordsOpenHoweverTheWireSplitsOrJoinsThem() throws IOException {
        byte[] big = new byte[3000];
        Arrays.fill(big, (byte) 4);
        byte[] wire = sealed(new byte[] {1, 2, 3}, big, new byte[] {9});
        // 1 byte per read: every boundary split; 7: lengths split; the whole wire at once: records joined
        // in one read. Buffers of 1 and 16 bytes grow for every record; one of 64 takes the next record's
        // start with the first and must move it to the front before it grows.
        for (int buffer : new int[] {1, 16, 64}) {
            for (int chunk : new int[] {1, 7, 100, wire.length}) {
                String what = "buffer " + buffer + ", chunk " + chunk;
                var in = new DataInputStream(new LinkSeal.Input(new LinkSeal(KEY), new Trickle(wire, chunk), 1 << 20, buffer));
                assertArrayEquals(new byte[] {1, 2, 3}, in.readNBytes(3), what);
                assertArrayEquals(big, in.readNBytes(big.length), what);
                assertEquals(9, in.read(), what);
                assertEquals(-1, in.read(), what);
            }
        }
    }

    @Test
    void aRecordCutShortEndsTheStreamWithWhatArrived() throws IOException {
        byte[] wire = sealed(new byte[] {1, 2, 3});
        var cutInBody = assertThrows(EOFException.class, () -> opened(Arrays.copyOf(wire, wire.length - 1), KEY).read());
        assertTrue(cutInBody.getMessage().contains("ended after " + (wire.length - 5) + " of " + (wire.length - 4)), cutInBody.getMessage());
        var cutInLength = assertThrows(EOFException.class, () -> opened(Arrays.copyOf(wire, 2), KEY).read());
        assertTrue(cutInLength.getMessage().contains("2 of its 4 length bytes"), cutInLength.getMessage());
    }

    @Test
    void waitingForDataConsumesNothingAndEndsAtTheEndOfTheStream() throws IOException {
        var input = new LinkSeal.Input(new LinkSeal(KEY), new Trickle(sealed(new byte[] {5, 6}), 3), 1 << 20, 16);
        input.awaitData();
        input.awaitData();
        assertEquals(5, input.read());
        input.awaitData();
        assertEquals(6, input.read());
        assertThrows(EOFException.class, input::awaitData);
    }

    @Test
    void waitingForDataReturnsAtTheFirstByteOfARecord() throws IOException {
        // The expert node starts a frame's timeout when the wait returns: a peer that sends one byte and
        // stalls must not hold the wait (which has no timeout) until its record is complete.
        byte[] wire = sealed(new byte[] {5, 6});
        var stallsAfterOneByte = new InputStream() {
            private boolean sent;

            @Override
            public int read() throws IOException {
                throw new IOException("stalled");
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (sent) throw new IOException("stalled");
                sent = true;
                b[off] = wire[0];
                return 1;
            }
        };
        var input = new LinkSeal.Input(new LinkSeal(KEY), stallsAfterOneByte, 1 << 20, 16);
        input.awaitData();
        var e = assertThrows(IOException.class, input::read);
        assertEquals("stalled", e.getMessage());
    }

    @Test
    void aReaderWithoutABufferIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new LinkSeal.Input(new LinkSeal(KEY), new ByteArrayInputStream(new byte[0]), 1 << 20, 0));
    }

    @Test
    void writingMoreThanTheLimitBetweenFlushesFails() {
        var out = new LinkSeal.Output(new LinkSeal(KEY), new ByteArrayOutputStream(), 100);
        assertThrows(IOException.class, () -> out.write(new byte[101]));
    }
}
