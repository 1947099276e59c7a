package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.expertmesh.gateway.GatewaySettings;
import io.expertmesh.protocol.ClusterCertificates;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A node started with cluster keys (Artery over mutual TLS) against what a local attacker can do:
 * join without keys or with keys from another CA, or send the 13 bytes that put a plaintext Artery
 * inbound stream into an endless loop. Only a node with keys from the cluster's CA joins.
 */
class ClusterSecurityTest {
    private static final Duration JOIN_ATTEMPTS = Duration.ofSeconds(8);

    @TempDir
    static Path keys;
    private static ClusterCertificates.Authority ca;
    private static TestServer seed;
    private static int seedPort;
    private static final ListAppender<ILoggingEvent> LOG = new ListAppender<>();

    @BeforeAll
    static void start() {
        LOG.start();
        root().addAppender(LOG);
        ca = ClusterCertificates.authority(keys.resolve("cluster"), Duration.ofDays(30));
        Path seedKeys = ClusterCertificates.node(keys.resolve("cluster"), ca, "seed", Duration.ofDays(1));
        seed = TestServer.start("expertmesh.node.cluster-keys = \"" + seedKeys + "\"");
        seedPort = Cluster.get(seed.node.system()).selfMember().address().getPort().orElseThrow();
    }

    @AfterAll
    static void stop() {
        if (seed != null) seed.close();
        root().detachAppender(LOG);
    }

    private static Logger root() {
        return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    }

    /** An expert-only node that tries to join the seed, with {@code keyDirectory}'s keys or none. */
    private static MeshNode expertNode(Path keyDirectory) {
        Config config = ConfigFactory.parseMap(Map.of(
                        "pekko.cluster.roles", List.of("expert"),
                        "pekko.cluster.seed-nodes", List.of("pekko://expertmesh@127.0.0.1:" + seedPort),
                        NodeSettings.CLUSTER_KEYS, keyDirectory == null ? "" : keyDirectory.toString(),
                        "expertmesh.engine.threads", 1))
                .withFallback(ConfigFactory.load());
        return MeshNode.start(TestServer.MODEL, config, GatewaySettings.from(config));
    }

    private static List<Member> seedMembers() {
        return StreamSupport.stream(Cluster.get(seed.node.system()).state().getMembers().spliterator(), false).toList();
    }

    private static long eventsSince(int index, String fragment) {
        synchronized (LOG.list) {
            return LOG.list.subList(index, LOG.list.size()).stream().filter(e -> e.getFormattedMessage().contains(fragment)).count();
        }
    }

    private static int logSize() {
        synchronized (LOG.list) {
            return LOG.list.size();
        }
    }

    @Test
    void onlyANodeWithKeysFromTheClustersCaJoins() throws Exception {
        var otherCa = ClusterCertificates.authority(keys.resolve("other"), Duration.ofDays(30));
        int logStart = logSize();
        try (MeshNode plaintext = expertNode(null);
             MeshNode stranger = expertNode(ClusterCertificates.node(keys.resolve("other"), otherCa, "stranger", Duration.ofDays(1)))) {
            TestServer.sleep(JOIN_ATTEMPTS.toMillis());
            assertEquals(1, seedMembers().size(), "members of the seed's cluster: " + seedMembers());
            for (MeshNode intruder : List.of(plaintext, stranger)) {
                assertTrue(Cluster.get(intruder.system()).selfMember().status() != MemberStatus.up(), "an intruder is up");
            }
            // The seed says so too, though the node that refused its certificate only sent it an alert.
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (eventsSince(logStart, "cluster port refused a TLS handshake: (") < 1 && System.nanoTime() < deadline) TestServer.sleep(200);
        }
        long refusals = eventsSince(logStart, "SSL");
        assertTrue(refusals <= 10, refusals + " log lines about refused TLS handshakes in " + JOIN_ATTEMPTS.toSeconds() + " s");
        assertEquals(1, eventsSince(logStart, "cluster port refused a TLS handshake: ("), "the stranger's alert, logged by the seed once a minute");
        // The plaintext node's refusal reads like the 13-byte packet's, which may have been logged within the minute already.
        assertTrue(eventsSince(logStart, "cluster port refused a TLS handshake: Unrecognized SSL message") <= 1, "plaintext refusals");
        try (MeshNode member = expertNode(ClusterCertificates.node(keys.resolve("cluster"), ca, "member", Duration.ofDays(1)))) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (seedMembers().stream().filter(m -> m.status() == MemberStatus.up()).count() < 2) {
                assertTrue(System.nanoTime() < deadline, "a node with the cluster's keys did not join: " + seedMembers());
                TestServer.sleep(100);
            }
        }
    }

    @Test
    void thirteenBytesOnTheClusterPortEndTheirConnectionAndNothingElse() throws Exception {
        int logStart = logSize();
        // Artery's TCP framing: magic, stream id 1, a negative little-endian frame length, 4 bytes.
        byte[] packet = {'A', 'K', 'K', 'A', 1, (byte) 0xF0, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 1, 2, 3, 4};
        for (int i = 0; i < 3; i++) {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), seedPort); OutputStream out = s.getOutputStream()) {
                out.write(packet);
                out.flush();
            }
        }
        TestServer.sleep(3000);
        int lines = logSize() - logStart;
        assertTrue(lines < 50, lines + " log lines in the 3 s after the packets: " + eventsSince(logStart, ""));
        assertTrue(eventsSince(logStart, "cluster port refused a TLS handshake: Unrecognized SSL message") <= 1, "three refusals, one line at most");
        String text = TestServer.text(TestServer.events(seed.post("/v1/chat/completions", TestServer.chatBody("Hello", 4, true).toString())));
        assertTrue(!text.isEmpty(), "the node still serves");
    }
}
