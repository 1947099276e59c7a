package io.expertmesh.experts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ExpertHostSettingsTest {
    private static ExpertHostSettings read(String overrides) {
        return ExpertHostSettings.from(ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()));
    }

    @Test
    void defaultsComeFromTheModulesReferenceConf() {
        assertEquals(new ExpertHostSettings(0, 16L << 20, Duration.ofSeconds(5), Duration.ofSeconds(10), 16), read(""));
        assertEquals(1, ConfigFactory.load().getInt("expertmesh-expert-dispatcher.thread-pool-executor.fixed-pool-size"));
    }

    @Test
    void anInvalidValueFailsNamingTheKeyAndTheValue() {
        var e = assertThrows(IllegalArgumentException.class, () -> read("expertmesh.experts.link-port = 70000"));
        assertEquals("expertmesh.experts.link-port must be between 0 and 65535, got 70000", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> read("expertmesh.experts.max-frame-size = 0"));
        assertEquals("expertmesh.experts.max-frame-size must be between 1 and 2147483639 bytes, got 0 bytes", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> read("expertmesh.experts.max-frame-size = 4 GiB"));
        assertTrue(e.getMessage().startsWith("expertmesh.experts.max-frame-size must be"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> read("expertmesh.experts.link-handshake-timeout = 0s"));
        assertEquals("expertmesh.experts.link-handshake-timeout must be between 1 ms and 2147483647 ms, got 0 ms", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> read("expertmesh.experts.max-unauthenticated-links = 0"));
        assertEquals("expertmesh.experts.max-unauthenticated-links must be between 1 and 4096, got 0", e.getMessage());
    }
}
