package io.expertmesh.experts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

class ExpertHostSettingsTest {
    private static ExpertHostSettings read(String overrides) {
        return ExpertHostSettings.from(ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()));
    }

    @Test
    void defaultsComeFromTheModulesReferenceConf() {
        assertEquals(new ExpertHostSettings(0, 16L << 20), read(""));
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
    }
}
