package io.expertmesh.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The frames of a dispatch link: what a frame costs the reader is bounded by what the peer sent. */
class DispatchFramesTest {
    private static ActorTestKit kit;

    @BeforeAll
    static void start() {
        kit = ActorTestKit.create("frames", ConfigFactory.load());
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    private static long allocatedByThisThread() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    @Test
    void aFrameRoundTrips() throws IOException {
        var frames = new DispatchFrames(kit.system(), 1 << 20);
        var sums = new PartialSums(4, 2, new float[] {1, 2, 3});
        var buffer = new ByteArrayOutputStream();
        int written = frames.write(new DataOutputStream(buffer), sums);
        var read = frames.read(new DataInputStream(new ByteArrayInputStream(buffer.toByteArray())));
        assertEquals(written, read.bytes());
        assertEquals(4, ((PartialSums) read.message()).step());
    }

    @Test
    void aFrameNamingAnotherSerializerIsRefusedUnread() {
        var frames = new DispatchFrames(kit.system(), 1 << 20);
        // Pekko's null serializer (0) would decode any bytes to null, its byte-array serializer (4) to a byte[].
        for (int serializer : new int[] {0, 4}) {
            var frame = new ByteArrayOutputStream();
            var out = new DataOutputStream(frame);
            try {
                out.writeInt(6 + 4);
                out.writeInt(serializer);
                out.writeShort(0);
                out.write(new byte[] {1, 2, 3, 4});
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            var e = assertThrows(IOException.class, () -> frames.read(new DataInputStream(new ByteArrayInputStream(frame.toByteArray()))));
            assertTrue(e.getMessage().contains("names serializer " + serializer), e.getMessage());
        }
    }

    @Test
    void aFrameThatAnnouncesAGigabyteAndSendsTenBytesAllocatesLittle() throws IOException {
        var frames = new DispatchFrames(kit.system(), Integer.MAX_VALUE - 8);
        var announced = new ByteArrayOutputStream();
        var out = new DataOutputStream(announced);
        out.writeInt(1 << 30);
        out.writeInt(7_451_001);
        out.writeShort(0);
        out.write(new byte[10]);
        var in = new DataInputStream(new ByteArrayInputStream(announced.toByteArray()));
        long before = allocatedByThisThread();
        var e = assertThrows(EOFException.class, () -> frames.read(in));
        long allocated = allocatedByThisThread() - before;
        assertTrue(e.getMessage().contains("ended after 16"), e.getMessage());
        assertTrue(allocated < 1 << 20, "reading the short frame allocated " + allocated + " bytes");
    }
}
