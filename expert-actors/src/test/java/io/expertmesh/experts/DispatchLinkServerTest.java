package io.expertmesh.experts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.engine.ExpertStore;
import io.expertmesh.model.engine.LocalExpertStore;
import io.expertmesh.model.engine.Routing;
import io.expertmesh.model.kernels.CpuBackend;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.weights.MlpWeights;
import io.expertmesh.model.weights.RoutedExpertWeights;
import io.expertmesh.protocol.ClusterCertificates;
import io.expertmesh.protocol.ClusterKeys;
import io.expertmesh.protocol.DispatchBatch;
import io.expertmesh.protocol.DispatchFrames;
import io.expertmesh.protocol.LinkConnection;
import io.expertmesh.protocol.LinkTransport;
import io.expertmesh.protocol.PartialSums;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A dispatch link with cluster keys computes only for peers holding keys from the cluster's CA: raw
 * connections and strangers are closed before a frame is read, and a flood of connections that never
 * authenticate neither computes anything nor keeps a real attention node out for long.
 */
class DispatchLinkServerTest {
    private static final Path MODEL = Path.of(System.getProperty("expertmesh.tinyModel", "../models/tiny-ernie-4.5-moe"));
    private static final Duration HANDSHAKE_TIMEOUT = Duration.ofMillis(1500);
    private static final int MAX_UNAUTHENTICATED = 4;

    @TempDir
    static Path keys;
    private static ActorTestKit kit;
    private static Checkpoint checkpoint;
    private static ErnieConfig config;
    private static CpuBackend backend;
    private static LinkTransport member;
    private static LinkTransport stranger;
    private static LinkTransport hostTransport;

    /** Counts the batches the experts compute. */
    private static final class CountingStore implements ExpertStore {
        final ExpertStore store;
        final AtomicInteger computed = new AtomicInteger();

        CountingStore(ExpertStore store) {
            this.store = store;
        }

        @Override
        public void add(int expert, MlpWeights[] layers) {
            store.add(expert, layers);
        }

        @Override
        public void remove(int expert) {
            store.remove(expert);
        }

        @Override
        public FloatMatrix combine(int layer, FloatMatrix x, Routing routing) {
            computed.incrementAndGet();
            return store.combine(layer, x, routing);
        }
    }

    @BeforeAll
    static void start() {
        kit = ActorTestKit.create();
        config = ErnieConfig.load(MODEL);
        checkpoint = Checkpoint.open(MODEL);
        backend = new CpuBackend(1);
        var ca = ClusterCertificates.authority(keys.resolve("cluster"), Duration.ofDays(1));
        hostTransport = LinkTransport.mutualTls(ClusterKeys.load(ClusterCertificates.node(keys.resolve("cluster"), ca, "expert", Duration.ofDays(1))));
        member = LinkTransport.mutualTls(ClusterKeys.load(ClusterCertificates.node(keys.resolve("cluster"), ca, "attention", Duration.ofDays(1))));
        var other = ClusterCertificates.authority(keys.resolve("other"), Duration.ofDays(1));
        stranger = LinkTransport.mutualTls(ClusterKeys.load(ClusterCertificates.node(keys.resolve("other"), other, "attention", Duration.ofDays(1))));
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
        backend.close();
        checkpoint.close();
    }

    private record Host(DispatchLinkServer server, CountingStore store, InetSocketAddress address) implements AutoCloseable {
        @Override
        public void close() {
            server.close();
        }
    }

    private static Host host() throws IOException {
        var store = new CountingStore(new LocalExpertStore(config, backend));
        var served = new ServedExperts(store, "node-e");
        served.add(0, RoutedExpertWeights.loadExpert(checkpoint, config, 0));
        var settings = new ExpertHostSettings(0, 1 << 20, HANDSHAKE_TIMEOUT, Duration.ofSeconds(5), MAX_UNAUTHENTICATED);
        var server = new DispatchLinkServer("127.0.0.1", settings, hostTransport, frames(), served, LoggerFactory.getLogger(DispatchLinkServerTest.class));
        String[] hostPort = server.address().split(":");
        return new Host(server, store, new InetSocketAddress(InetAddress.getLoopbackAddress(), Integer.parseInt(hostPort[1])));
    }

    private static DispatchFrames frames() {
        return new DispatchFrames(kit.system(), 1 << 20);
    }

    private static DispatchBatch batch() {
        int hidden = config.hiddenSize();
        int k = config.expertsPerToken();
        int[] experts = new int[k];
        Arrays.fill(experts, -1);
        experts[0] = 0;
        float[] weights = new float[k];
        weights[0] = 1;
        return new DispatchBatch(1, 1, 1, hidden, new float[hidden], k, experts, weights);
    }

    /** Sends a batch on an open link and reads the answer. */
    private static Object exchange(LinkConnection link) throws IOException {
        frames().write(link.out(), batch());
        return frames().read(link.in()).message();
    }

    private static LinkConnection connect(LinkTransport transport, Host host) throws IOException {
        return transport.connect(host.address(), 5000, 1 << 21);
    }

    @Test
    void aNodeWithTheClustersKeysGetsItsBatchComputed() throws IOException {
        try (Host host = host(); LinkConnection link = connect(member, host)) {
            assertInstanceOf(PartialSums.class, exchange(link));
            assertEquals(1, host.store().computed.get());
        }
    }

    @Test
    void aRawConnectionWithAValidFrameIsClosedUncomputed() throws IOException {
        try (Host host = host(); Socket s = new Socket(host.address().getAddress(), host.address().getPort())) {
            s.setSoTimeout(10_000);
            var frame = new ByteArrayOutputStream();
            frames().write(new DataOutputStream(frame), batch());
            s.getOutputStream().write(frame.toByteArray());
            byte[] answer = readUntilClosed(s.getInputStream());
            assertTrue(answer.length == 0 || answer[0] == 0x15, "a TLS alert or nothing, got " + answer.length + " bytes");
            assertEquals(0, host.store().computed.get());
        }
    }

    @Test
    void aNodeWithAnotherCasKeysIsRefusedUncomputed() throws IOException {
        try (Host host = host()) {
            assertThrows(IOException.class, () -> {
                try (LinkConnection link = connect(stranger, host)) {
                    exchange(link);
                }
            });
            assertEquals(0, host.store().computed.get());
        }
    }

    @Test
    void stalledConnectionsBeyondTheLimitAreClosedAndARealNodeGetsInOnceTheyTimeOut() throws Exception {
        try (Host host = host()) {
            List<Socket> stalled = new ArrayList<>();
            try {
                for (int i = 0; i < 64; i++) stalled.add(new Socket(host.address().getAddress(), host.address().getPort()));
                int closedAtOnce = 0;
                for (Socket s : stalled) {
                    s.setSoTimeout(200);
                    try {
                        if (s.getInputStream().read() < 0) closedAtOnce++;
                    } catch (SocketTimeoutException e) {
                        // Still held open, authenticating: one of the bounded few.
                    } catch (IOException e) {
                        closedAtOnce++;
                    }
                }
                assertTrue(closedAtOnce >= 64 - MAX_UNAUTHENTICATED, closedAtOnce + " of 64 stalled connections closed at once");
                long start = System.nanoTime();
                while (true) {
                    try (LinkConnection link = connect(member, host)) {
                        assertInstanceOf(PartialSums.class, exchange(link));
                        break;
                    } catch (IOException e) {
                        assertTrue(System.nanoTime() - start < HANDSHAKE_TIMEOUT.multipliedBy(3).toNanos(), "no way in after the stalled ones: " + e);
                        Thread.sleep(100);
                    }
                }
            } finally {
                for (Socket s : stalled) s.close();
            }
            assertEquals(1, host.store().computed.get());
        }
    }

    private static byte[] readUntilClosed(InputStream in) {
        var out = new ByteArrayOutputStream();
        try {
            in.transferTo(out);
        } catch (IOException e) {
            // A reset is as closed as an end of stream.
        }
        return out.toByteArray();
    }
}
