package io.expertmesh.kvstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

class KvSettingsTest {
    private static KvSettings read(String overrides) {
        return KvSettings.from(ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()));
    }

    @Test
    void defaultsComeFromTheModulesReferenceConf() {
        assertEquals(new KvSettings(16, 1L << 30), read(""));
    }

    @Test
    void anInvalidValueFailsNamingTheKeyAndTheValue() {
        var e = assertThrows(IllegalArgumentException.class, () -> read("expertmesh.kv.block-size = 0"));
        assertEquals("expertmesh.kv.block-size must be at least 1, got 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> read("expertmesh.kv.budget = 0"));
        assertEquals("expertmesh.kv.budget must be at least 1 byte, got 0 bytes", e.getMessage());
    }
}
