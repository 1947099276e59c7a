package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A node's settings as read before its model is loaded; no node is started. */
class NodeSettingsTest {
    private static NodeSettings read(String overrides) {
        return NodeSettings.from(ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()));
    }

    private static String failure(String overrides) {
        return assertThrows(IllegalArgumentException.class, () -> read(overrides)).getMessage();
    }

    @Test
    void defaultsAreAConsistentOneNodeServer() {
        NodeSettings s = read("");
        assertEquals(List.of("gateway", "attention", "expert"), s.roles());
        assertTrue(s.joinSelf());
        assertEquals("127.0.0.1", s.hostname());
        assertEquals(Duration.ofSeconds(60), s.startTimeout());
        assertEquals(Duration.ofSeconds(60), s.stopTimeout());
        assertEquals(Duration.ofSeconds(40), s.drainPhaseTimeout());
        assertEquals(16, s.kv().blockSize());
        assertEquals(16L << 20, s.experts().maxFrameSize());
        assertTrue(s.dispatch().localFastPath());
        assertEquals(Duration.ofSeconds(30), s.scheduler().drainTimeout());
        assertFalse(read("pekko.cluster.seed-nodes = [\"pekko://expertmesh@127.0.0.1:2551\"]").joinSelf());
    }

    @Test
    void theShutdownPhaseMustOutlastTheDrainAndItsLastStep() {
        String message = "pekko.coordinated-shutdown.phases.before-service-unbind.timeout (35000 ms) must be longer than "
                + "expertmesh.scheduler.drain-timeout (30000 ms) + expertmesh.scheduler.drain-last-step-timeout (5000 ms)";
        assertEquals(message, failure("pekko.coordinated-shutdown.phases.before-service-unbind.timeout = 35s"));
        assertTrue(failure("expertmesh.scheduler.drain-timeout = 36s").startsWith(
                "pekko.coordinated-shutdown.phases.before-service-unbind.timeout (40000 ms) must be longer than "
                        + "expertmesh.scheduler.drain-timeout (36000 ms)"));
        assertTrue(failure("expertmesh.scheduler.drain-last-step-timeout = 10s").contains("drain-last-step-timeout (10000 ms)"));
        assertEquals(Duration.ofSeconds(34), read("expertmesh.scheduler.drain-timeout = 34s").scheduler().drainTimeout());
        assertEquals(Duration.ofSeconds(70), read("expertmesh.scheduler.drain-timeout = 60s, "
                + "pekko.coordinated-shutdown.phases.before-service-unbind.timeout = 70s").drainPhaseTimeout());
    }

    @Test
    void withoutItsOwnTimeoutThePhaseHasPekkosDefault() {
        var config = ConfigFactory.load().withoutPath(NodeSettings.DRAIN_PHASE_TIMEOUT);
        var e = assertThrows(IllegalArgumentException.class, () -> NodeSettings.from(config));
        assertTrue(e.getMessage().startsWith(NodeSettings.DRAIN_PHASE_TIMEOUT + " (5000 ms) must be longer than"), e.getMessage());
    }

    @Test
    void anInvalidValueFailsTheStartNamingTheKeyAndTheValue() {
        assertEquals("expertmesh.node.start-timeout must be positive, got 0 ms", failure("expertmesh.node.start-timeout = 0s"));
        assertEquals("expertmesh.node.stop-timeout must be positive, got -1000 ms", failure("expertmesh.node.stop-timeout = -1s"));
        assertEquals("expertmesh.kv.block-size must be at least 1, got 0", failure("expertmesh.kv.block-size = 0"));
        assertEquals("expertmesh.dispatch.reply-timeout must be positive, got 0 ms", failure("expertmesh.dispatch.reply-timeout = 0s"));
        assertEquals("expertmesh.experts.link-port must be between 0 and 65535, got -1", failure("expertmesh.experts.link-port = -1"));
        assertEquals("expertmesh.scheduler.max-running must be at least 1, got 0", failure("expertmesh.scheduler.max-running = 0"));
        assertTrue(failure("expertmesh.kv.budget = lots").contains("expertmesh.kv.budget"));
        assertTrue(failure("expertmesh.node.start-timeout = soon").contains("expertmesh.node.start-timeout"));
    }

    @Test
    void rolesAreChecked() {
        assertEquals("unknown role 'cook' (roles: gateway, attention, expert)", failure("pekko.cluster.roles = [cook]"));
        assertEquals("the gateway role needs the attention role on the same node", failure("pekko.cluster.roles = [gateway, expert]"));
        assertEquals("a node needs the attention or the expert role (or both)", failure("pekko.cluster.roles = []"));
    }
}
