package io.expertmesh.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** How a link reads its socket. */
class LinkTransportTest {
    /** A socket's input stand-in that counts the reads made from it. */
    private static final class CountingInput extends InputStream {
        private final InputStream bytes;
        int reads;

        CountingInput(byte[] wire) {
            this.bytes = new ByteArrayInputStream(wire);
        }

        @Override
        public int read() throws IOException {
            reads++;
            return bytes.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            reads++;
            return bytes.read(b, off, len);
        }

        @Override
        public int available() {
            return 0;
        }
    }

    @Test
    void aSealedRecordOfASixteenStreamBatchComesInWithOneReadFromTheSocketOnAnOutboundLink() throws IOException {
        byte[] key = new byte[32];
        byte[] record = new byte[40_000];
        Arrays.fill(record, (byte) 5);
        var wire = new ByteArrayOutputStream();
        var out = new LinkSeal.Output(new LinkSeal(key), wire, 1 << 20);
        out.write(record);
        out.flush();
        var socket = new CountingInput(wire.toByteArray());
        var in = new DataInputStream(new LinkSeal.Input(new LinkSeal(key), socket, 1 << 20, LinkTransport.BUFFER));
        assertArrayEquals(record, in.readNBytes(record.length));
        assertEquals(1, socket.reads);
    }
}
