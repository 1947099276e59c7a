package io.expertmesh.cluster;

import com.typesafe.config.ConfigFactory;
import io.expertmesh.attention.DispatchLinks;
import io.expertmesh.protocol.DispatchBatch;
import io.expertmesh.protocol.DispatchFrames;
import io.expertmesh.protocol.LinkTransport;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;


/**
 * The dispatch link between an attention node and an expert host: bad bytes from a peer cost only
 * that connection, a host that does not answer in time loses its connection (so a late reply cannot
 * answer a later batch), and a batch over the frame limit is refused before anything is sent.
 */
class DispatchLinkTest {
    private static final int LINK_PORT = NodeProcess.freePort();
    private static TestServer server;
    private static ReferenceGenerator reference;
    private static ActorTestKit kit;

    @BeforeAll
    static void start() {
        server = TestServer.start("expertmesh.dispatch.local-fast-path = off, expertmesh.experts.link-port = " + LINK_PORT);
        reference = new ReferenceGenerator();
        kit = ActorTestKit.create("links", ConfigFactory.parseString("pekko.remote.artery.canonical.port = 0").withFallback(ConfigFactory.load()));
    }

    @AfterAll
    static void stop() {
        server.close();
        reference.close();
        kit.shutdownTestKit();
    }

    private static DispatchBatch batch(int hidden) {
        return new DispatchBatch(1, 1, 1, hidden, new float[hidden], 1, new int[] {0}, new float[] {1});
    }

    /** Writes the bytes to the host's link and returns what the host does: -1 when it closes the connection. */
    private static int sendToHost(byte[] bytes, boolean thenClose) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), LINK_PORT)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(bytes);
            s.getOutputStream().flush();
            if (thenClose) s.shutdownOutput();
            return s.getInputStream().read();
        }
    }

    /** Accepts one connection on {@code listener} and counts the bytes that arrive until it closes. */
    private static CompletableFuture<Integer> bytesReadUntilClosed(ServerSocket listener) {
        return CompletableFuture.supplyAsync(() -> {
            try (Socket s = listener.accept(); InputStream in = s.getInputStream()) {
                int n = 0;
                while (in.read() >= 0) n++;
                return n;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void badBytesOnTheLinkCloseOnlyThatConnectionAndServingGoesOn() throws Exception {
        assertEquals(-1, sendToHost(new byte[] {0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF}, false), "a frame longer than the limit");
        assertEquals(-1, sendToHost(new byte[] {0, 0, 0, 12, 0, 0x71, (byte) 0xB0, (byte) 0xF9, 0, 0, 1, 2, 3, 4, 5, 6}, false),
                "bytes the serializer rejects");
        assertEquals(-1, sendToHost(new byte[] {0, 0, 0, 8, 1, 2}, true), "a frame cut short");
        String prompt = "Why is the sky blue?";
        String text = TestServer.text(TestServer.events(server.post("/v1/chat/completions", TestServer.chatBody(prompt, 12, true).toString())));
        assertEquals(reference.greedyChat(prompt, 12).text(), text);
    }

    @Test
    void aHostThatDoesNotAnswerInTimeLosesItsConnection() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             DispatchLinks links = new DispatchLinks(new DispatchFrames(kit.system(), 1 << 20), LinkTransport.plaintext(), Duration.ofMillis(300))) {
            String link = "127.0.0.1:" + silent.getLocalPort();
            CompletableFuture<Integer> readByHost = bytesReadUntilClosed(silent);
            DispatchBatch b = batch(8);
            assertTrue(links.send(link, b) > 0);
            assertThrows(SocketTimeoutException.class, () -> links.receive(link, b));
            assertTrue(readByHost.get(10, TimeUnit.SECONDS) > 0, "the host saw the batch, then the connection closed");
        }
    }

    @Test
    void aBatchOverTheFrameLimitIsRefusedBeforeAnythingIsSent() throws Exception {
        try (ServerSocket host = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             DispatchLinks links = new DispatchLinks(new DispatchFrames(kit.system(), 1024), LinkTransport.plaintext(), Duration.ofSeconds(5))) {
            String link = "127.0.0.1:" + host.getLocalPort();
            CompletableFuture<Integer> readByHost = bytesReadUntilClosed(host);
            IOException e = assertThrows(IOException.class, () -> links.send(link, batch(4096)));
            assertTrue(e.getMessage().contains("expertmesh.experts.max-frame-size"), e.getMessage());
            assertEquals(0, readByHost.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void aFrameOfAnotherKindOfMessageIsNotTakenForAReply() throws Exception {
        try (ServerSocket host = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             DispatchLinks links = new DispatchLinks(new DispatchFrames(kit.system(), 1 << 20), LinkTransport.plaintext(), Duration.ofSeconds(5))) {
            String link = "127.0.0.1:" + host.getLocalPort();
            DispatchFrames frames = new DispatchFrames(kit.system(), 1 << 20);
            CompletableFuture.runAsync(() -> {
                try (Socket s = host.accept()) {
                    s.getInputStream().readNBytes(4);
                    frames.write(new DataOutputStream(s.getOutputStream()), batch(2));
                    s.getInputStream().read();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            DispatchBatch b = batch(8);
            links.send(link, b);
            IOException e = assertThrows(IOException.class, () -> links.receive(link, b));
            assertTrue(e.getMessage().contains("expected a dispatch reply"), e.getMessage());
        }
    }
}
