package io.expertmesh.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class DispatchSettingsTest {
    private static DispatchSettings read(String overrides) {
        return DispatchSettings.from(ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()));
    }

    private static void assertFails(String overrides, String message) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> read(overrides)).getMessage());
    }

    @Test
    void defaultsComeFromTheModulesReferenceConf() {
        assertEquals(new DispatchSettings(true, Duration.ofSeconds(2), Duration.ofMillis(250), Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ofMillis(200)),
                read(""));
        var load = ConfigFactory.load();
        assertEquals(1, load.getInt(Scheduler.ENGINE_DISPATCHER + ".thread-pool-executor.fixed-pool-size"));
        assertEquals(1, load.getInt(SharedExpert.DISPATCHER + ".thread-pool-executor.fixed-pool-size"));
    }

    @Test
    void anInvalidValueFailsNamingTheKeyAndTheValue() {
        assertFails("expertmesh.dispatch.reply-timeout = 0s", "expertmesh.dispatch.reply-timeout must be positive, got 0 ms");
        assertFails("expertmesh.dispatch.retry-interval = 0ms", "expertmesh.dispatch.retry-interval must be positive, got 0 ms");
        assertFails("expertmesh.dispatch.layer-deadline = -1s", "expertmesh.dispatch.layer-deadline must be positive, got -1000 ms");
        assertFails("expertmesh.dispatch.shared-expert-wait-margin = 0ms",
                "expertmesh.dispatch.shared-expert-wait-margin must be positive, got 0 ms");
        assertFails("expertmesh.dispatch.wake-interval = 0ms", "expertmesh.dispatch.wake-interval must be positive, got 0 ms");
    }

    @Test
    void aKeyUnderItsOldNameFailsInsteadOfBeingIgnored() {
        assertFails("expertmesh.experts.local-fast-path = off", "expertmesh.experts.local-fast-path is now expertmesh.dispatch.local-fast-path");
        assertFails("expertmesh.experts.reply-timeout = 5s", "expertmesh.experts.reply-timeout is now expertmesh.dispatch.reply-timeout");
    }
}
