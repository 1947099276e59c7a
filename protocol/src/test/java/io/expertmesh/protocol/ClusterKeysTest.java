package io.expertmesh.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterKeysTest {
    @TempDir
    static Path dir;
    private static ClusterKeys a;
    private static ClusterKeys b;
    private static ClusterKeys stranger;

    @BeforeAll
    static void makeKeys() {
        var ca = ClusterCertificates.authority(dir.resolve("cluster"), Duration.ofDays(30));
        a = ClusterKeys.load(ClusterCertificates.node(dir.resolve("cluster"), ca, "a", Duration.ofDays(3)));
        b = ClusterKeys.load(ClusterCertificates.node(dir.resolve("cluster"), ca, "b", Duration.ofDays(3)));
        var otherCa = ClusterCertificates.authority(dir.resolve("other"), Duration.ofDays(30));
        stranger = ClusterKeys.load(ClusterCertificates.node(dir.resolve("other"), otherCa, "a", Duration.ofDays(3)));
    }

    /** Accepts one connection on {@code server}, authenticates it and echoes one byte; completes with the failure if any. */
    private static CompletableFuture<Void> echoOnce(LinkTransport transport, ServerSocket server) {
        return CompletableFuture.runAsync(() -> {
            try (Socket s = server.accept()) {
                s.setSoTimeout(5000);
                LinkConnection link = transport.accept(s, 1 << 20);
                link.out().write(link.in().read());
                link.out().flush();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static InetSocketAddress loopback(ServerSocket listener) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort());
    }

    @Test
    void twoNodesOfOneClusterAuthenticateEachOtherAndTalk() throws Exception {
        LinkTransport server = LinkTransport.mutualTls(a);
        try (ServerSocket listener = server.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            var echoed = echoOnce(server, listener);
            try (LinkConnection link = LinkTransport.mutualTls(b).connect(loopback(listener), 5000, 1 << 20)) {
                link.out().write(42);
                link.out().flush();
                assertEquals(42, link.in().read());
            }
            echoed.get(10, TimeUnit.SECONDS);
        }
        assertEquals("a", a.nodeName());
    }

    @Test
    void aNodeWithKeysFromAnotherCaIsRefusedAtTheHandshake() throws Exception {
        LinkTransport server = LinkTransport.mutualTls(a);
        try (ServerSocket listener = server.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            var echoed = echoOnce(server, listener);
            assertThrows(SSLException.class,
                    () -> LinkTransport.mutualTls(stranger).connect(loopback(listener), 5000, 1 << 20));
            var failure = assertThrows(Exception.class, () -> echoed.get(10, TimeUnit.SECONDS));
            // The server fails its side of the handshake: with an alert, or with a broken pipe when the
            // stranger, which does not trust the server's CA either, hung up first.
            Throwable cause = failure.getCause().getCause();
            assertTrue(cause instanceof SSLException || cause instanceof SocketException, failure.toString());
        }
    }

    @Test
    void aPlaintextPeerNeverGetsPastTheHandshake() throws Exception {
        LinkTransport server = LinkTransport.mutualTls(a);
        try (ServerSocket listener = server.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            var echoed = echoOnce(server, listener);
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
                s.getOutputStream().write(new byte[] {0, 0, 0, 12, 0, 0x71, (byte) 0xB0, (byte) 0xF9, 0, 0, 1, 2, 3, 4, 5, 6});
                s.setSoTimeout(5000);
                // The server answers with a TLS alert at most, never with an echo of our bytes, and closes.
                byte[] answer = s.getInputStream().readAllBytes();
                assertTrue(answer.length == 0 || answer[0] == 0x15, "a TLS alert or nothing, got " + answer.length + " bytes starting " + answer[0]);
            }
            assertThrows(Exception.class, () -> echoed.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void keysAreWrittenReadableByTheOwnerOnly() throws IOException {
        for (String file : new String[] {ClusterKeys.KEY_STORE, ClusterKeys.TRUST_STORE, ClusterKeys.PASSWORD}) {
            assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
                    Files.getPosixFilePermissions(a.directory().resolve(file)), file);
        }
        assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE),
                Files.getPosixFilePermissions(a.directory()));
    }

    @Test
    void aDamagedKeyDirectoryIsRefusedNamingTheFile() throws IOException {
        var ca = ClusterCertificates.authority(dir.resolve("cluster"), Duration.ofDays(30));
        Path broken = ClusterCertificates.node(dir.resolve("cluster"), ca, "broken", Duration.ofDays(3));
        Files.writeString(broken.resolve(ClusterKeys.PASSWORD), "not the password");
        var e = assertThrows(IllegalArgumentException.class, () -> ClusterKeys.load(broken));
        assertTrue(e.getMessage().contains(broken.resolve(ClusterKeys.KEY_STORE).toString()), e.getMessage());
        Files.delete(broken.resolve(ClusterKeys.PASSWORD));
        e = assertThrows(IllegalArgumentException.class, () -> ClusterKeys.load(broken));
        assertTrue(e.getMessage().contains(broken.resolve(ClusterKeys.PASSWORD).toString()), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ClusterKeys.load(dir.resolve("nowhere")));
        assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());
    }

    @Test
    void aNodeNameThatIsNotASafeDirectoryNameIsRefused() {
        for (String bad : new String[] {"", "../x", "ca", "a/b", "-a", "x".repeat(65)}) {
            assertThrows(IllegalArgumentException.class, () -> ClusterCertificates.checkNodeName(bad), bad);
        }
        ClusterCertificates.checkNodeName("expert-2.gpu_a");
    }

    @Test
    void anExistingNodeDirectoryIsNeverOverwritten() {
        var ca = ClusterCertificates.authority(dir.resolve("cluster"), Duration.ofDays(30));
        var e = assertThrows(IllegalArgumentException.class, () -> ClusterCertificates.node(dir.resolve("cluster"), ca, "a", Duration.ofDays(3)));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        assertEquals(a, ClusterKeys.load(a.directory()));
    }
}
