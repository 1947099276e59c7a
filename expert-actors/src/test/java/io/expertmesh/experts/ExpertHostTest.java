package io.expertmesh.experts;

import com.typesafe.config.ConfigFactory;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.engine.LocalExpertStore;
import io.expertmesh.model.engine.LocalRoutedExperts;
import io.expertmesh.model.engine.Routing;
import io.expertmesh.model.kernels.CpuBackend;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.weights.RoutedExpertWeights;
import io.expertmesh.protocol.DispatchBatch;
import io.expertmesh.protocol.DispatchFrames;
import io.expertmesh.protocol.DispatchRefused;
import io.expertmesh.protocol.ExpertHostProtocol;
import io.expertmesh.protocol.LinkTransport;
import io.expertmesh.protocol.PartialSums;
import io.expertmesh.protocol.RoutedExpertProtocol;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;


/**
 * A host's served experts answer a dispatch batch with the same partial sums as running the experts
 * in-process and refuse experts they do not hold; the host actor publishes what it serves and where
 * its dispatch link listens.
 */
class ExpertHostTest {
    private static final Path MODEL = Path.of(System.getProperty("expertmesh.tinyModel", "../models/tiny-ernie-4.5-moe"));
    private static ActorTestKit kit;
    private static Checkpoint checkpoint;
    private static ErnieConfig config;
    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        kit = ActorTestKit.create();
        config = ErnieConfig.load(MODEL);
        checkpoint = Checkpoint.open(MODEL);
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
        backend.close();
        checkpoint.close();
    }

    private ServedExperts servedWith(int... experts) {
        ServedExperts served = new ServedExperts(new LocalExpertStore(config, backend), "node-a");
        for (int e : experts) served.add(e, RoutedExpertWeights.loadExpert(checkpoint, config, e));
        return served;
    }

    @Test
    void aDispatchBatchReturnsTheInProcessPartialSums() {
        int rows = 3;
        int k = config.expertsPerToken();
        int hidden = config.hiddenSize();
        float[] x = new float[rows * hidden];
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        int[] experts = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 3, 5, 7, 9, 11};
        float[] weights = new float[rows * k];
        for (int i = 0; i < weights.length; i++) weights[i] = 1f / k;
        ServedExperts served = servedWith(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        var sums = assertInstanceOf(PartialSums.class,
                served.answer(new DispatchBatch(7, 1, rows, hidden, x.clone(), k, experts, weights)));
        assertEquals(7, sums.step());
        assertEquals(1, sums.layer());
        float[] expected = new LocalRoutedExperts(RoutedExpertWeights.loadAll(checkpoint, config), backend)
                .combine(1, new FloatMatrix(rows, hidden, x), new Routing(rows, k, experts, weights)).data();
        assertArrayEquals(expected, sums.sums(), 0f);
    }

    @Test
    void choicesMarkedForOtherNodesAreSkipped() {
        int hidden = config.hiddenSize();
        int k = config.expertsPerToken();
        float[] x = new float[hidden];
        x[0] = 1;
        int[] experts = {2, -1, -1, -1, -1, -1};
        float[] weights = {1, 0, 0, 0, 0, 0};
        var sums = assertInstanceOf(PartialSums.class,
                servedWith(2).answer(new DispatchBatch(1, 1, 1, hidden, x, k, experts, weights)));
        float[] only = new LocalRoutedExperts(RoutedExpertWeights.loadAll(checkpoint, config), backend)
                .combine(1, new FloatMatrix(1, hidden, x), new Routing(1, 1, new int[] {2}, new float[] {1})).data();
        assertArrayEquals(only, sums.sums(), 0f);
    }

    @Test
    void aBatchNamingAnExpertNotHostedHereIsRefused() {
        int hidden = config.hiddenSize();
        ServedExperts served = servedWith(0, 5);
        served.remove(5);
        var refused = assertInstanceOf(DispatchRefused.class,
                served.answer(new DispatchBatch(3, 1, 1, hidden, new float[hidden], 1, new int[] {5}, new float[] {1})));
        assertTrue(refused.reason().contains("expert 5"), refused.reason());
    }

    @Test
    void subscribersLearnEveryChangeWithAGrowingVersionAndTheDispatchLink() {
        ActorRef<ExpertHostProtocol.Command> host = kit.spawn(ExpertHost.create(new LocalExpertStore(config, backend), "node-b",
                "127.0.0.1", ExpertHostSettings.from(ConfigFactory.load()), LinkTransport.plaintext(), new DispatchFrames(kit.system(), 1 << 20)));
        TestProbe<ExpertHostProtocol.HostedExperts> watcher = kit.createTestProbe();
        host.tell(new ExpertHostProtocol.Subscribe(watcher.getRef()));
        var first = watcher.receiveMessage();
        assertEquals(0, first.experts().length);
        assertTrue(first.link().matches("127\\.0\\.0\\.1:[1-9][0-9]*"), first.link());
        var entity = kit.<RoutedExpertProtocol.Command>createTestProbe().getRef();
        host.tell(new ExpertHost.ExpertStarted(4, RoutedExpertWeights.loadExpert(checkpoint, config, 4), entity));
        var added = watcher.receiveMessage();
        assertArrayEquals(new int[] {4}, added.experts());
        host.tell(new ExpertHost.ExpertStopped(4, entity));
        var removed = watcher.receiveMessage();
        assertEquals(0, removed.experts().length);
        assertTrue(removed.version() > added.version());
    }
}
