package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.expertmesh.attention.DispatchLinks;
import io.expertmesh.protocol.ClusterKeys;
import io.expertmesh.protocol.DispatchBatch;
import io.expertmesh.protocol.DispatchFrames;
import io.expertmesh.protocol.DispatchReply;
import io.expertmesh.protocol.LinkConnection;
import io.expertmesh.protocol.LinkTransport;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An expert node in its own JVM against a peer that holds the cluster's keys but sends hostile
 * frames: nested array lengths, a frame that announces a gigabyte and sends ten bytes, and 255
 * links each stalled inside a 16 MiB frame. Each is refused or waits without allocating what it
 * announced, so the node's resident memory stays within 100 MB, and it still answers a real batch.
 */
class HostileFramesTest {
    private static final long RSS_SLACK = 100L << 20;
    private static final int STALLED_LINKS = 255;
    private static final int KRYO = 7_451_001;
    private static final int BATCH_CLASS = 111;
    private static final int MAX_FRAME = 16 << 20;

    private static final int LINK_PORT = NodeProcess.freePort();
    private static NodeProcess node;
    private static ActorTestKit kit;
    private static LinkTransport peer;

    @BeforeAll
    static void start() throws Exception {
        int port = NodeProcess.freePort();
        // A frame timeout long enough that the stalled links are all still open when memory is read.
        node = NodeProcess.start("hostile-target", "expert", port, port, "-Dexpertmesh.experts.link-port=" + LINK_PORT,
                "-Dexpertmesh.experts.link-frame-timeout=120s");
        kit = ActorTestKit.create("hostile", ConfigFactory.parseString("pekko.remote.artery.canonical.port = 0").withFallback(ConfigFactory.load()));
        peer = LinkTransport.mutualTls(ClusterKeys.load(NodeProcess.keys("hostile-peer")));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!linkOpen()) {
            assertTrue(node.alive(), "the expert node exited:\n" + node.log());
            assertTrue(System.nanoTime() < deadline, "the expert node's link did not open within 60 s:\n" + node.log());
            Thread.sleep(200);
        }
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (node != null) node.close();
        if (kit != null) kit.shutdownTestKit();
    }

    private static boolean linkOpen() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", LINK_PORT), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static LinkConnection connect() throws IOException {
        return peer.connect(new InetSocketAddress("127.0.0.1", LINK_PORT), 10_000, MAX_FRAME + 64);
    }

    /** The node's resident set, from /proc. */
    private static long rss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(node.pid()), "status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("no VmRSS for the node's process");
    }

    /** A real batch for expert 0 gets an answer (its sums, or a refusal if the node does not host it yet). */
    private static void aRealBatchIsAnswered() throws IOException {
        try (var links = new DispatchLinks(new DispatchFrames(kit.system(), MAX_FRAME), peer, Duration.ofSeconds(20))) {
            String link = "127.0.0.1:" + LINK_PORT;
            int hidden = 64;
            var batch = new DispatchBatch(1, 1, 1, hidden, new float[hidden], 1, new int[] {0}, new float[] {1});
            links.send(link, batch);
            assertInstanceOf(DispatchReply.class, links.receive(link, batch).reply());
        }
    }

    /** A dispatch frame as the link carries it: length, serializer, empty manifest, then the payload. */
    private static byte[] frame(int announcedLength, byte[] payload) throws IOException {
        var bytes = new ByteArrayOutputStream();
        var out = new DataOutputStream(bytes);
        out.writeInt(announcedLength);
        out.writeInt(KRYO);
        out.writeShort(0);
        out.write(payload);
        return bytes.toByteArray();
    }

    /** Kryo's unsigned variable-length ints, as a payload. */
    private static byte[] varints(int... values) {
        var out = new ByteArrayOutputStream();
        for (int v : values) {
            while ((v & ~0x7F) != 0) {
                out.write((v & 0x7F) | 0x80);
                v >>>= 7;
            }
            out.write(v);
        }
        return out.toByteArray();
    }

    /** Sends one sealed record and reports whether the node closed the link after it. */
    private static boolean closedAfter(byte[] bytes) throws IOException {
        try (LinkConnection c = connect()) {
            c.out().write(bytes);
            c.out().flush();
            c.socket().setSoTimeout(20_000);
            try {
                return c.in().read() < 0;
            } catch (IOException e) {
                return true;
            }
        }
    }

    @Test
    void hostileFramesFromAnAuthenticatedPeerLeaveMemoryWithin100MbAndServingGoesOn() throws Exception {
        aRealBatchIsAnswered();
        for (int i = 0; i < 5; i++) assertTrue(closedAfter(frame(14, varints(12, 5))), "an unregistered class");
        System.gc();
        Thread.sleep(2000);
        long before = rss();

        // Nested array lengths: each level announces a billion elements.
        int[] nested = new int[30];
        Arrays.fill(nested, 1_000_000_000);
        nested[0] = 12;
        byte[] nestedPayload = varints(nested);
        assertTrue(closedAfter(frame(6 + nestedPayload.length, nestedPayload)), "nested array lengths");
        // A batch whose rows × hidden announce 2^40 floats.
        byte[] hugeBatch = varints(BATCH_CLASS + 2, 1, 1, 1 << 20, 1 << 20, 6);
        assertTrue(closedAfter(frame(6 + hugeBatch.length, hugeBatch)), "a batch larger than its frame");
        // A frame that announces a gigabyte and sends ten bytes.
        assertTrue(closedAfter(frame(1 << 30, new byte[10])), "a frame over max-frame-size");

        List<LinkConnection> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < STALLED_LINKS; i++) {
                LinkConnection c = connect();
                stalled.add(c);
                if (i % 2 == 0) {
                    // A frame that announces 16 MiB inside a sealed record, then nothing more.
                    c.out().write(frame(MAX_FRAME, varints(BATCH_CLASS + 2)));
                    c.out().flush();
                } else {
                    // A sealed record that announces 16 MiB on the socket, of which 10 bytes come.
                    var raw = new DataOutputStream(c.socket().getOutputStream());
                    raw.writeInt(MAX_FRAME);
                    raw.write(new byte[10]);
                    raw.flush();
                }
            }
            Thread.sleep(3000);
            long during = rss();
            assertTrue(node.alive(), node.log());
            assertTrue(during - before < RSS_SLACK, "RSS went from " + (before >> 20) + " MiB to " + (during >> 20) + " MiB with "
                    + STALLED_LINKS + " stalled links open");
            aRealBatchIsAnswered();
        } finally {
            for (LinkConnection c : stalled) c.close();
        }
        long after = rss();
        assertTrue(after - before < RSS_SLACK, "RSS went from " + (before >> 20) + " MiB to " + (after >> 20) + " MiB");
        assertTrue(node.alive(), node.log());
    }
}
