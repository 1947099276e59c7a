package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

class EngineSettingsTest {
    private static EngineSettings read(String overrides) {
        return EngineSettings.from(ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()));
    }

    @Test
    void defaultsComeFromApplicationConf() {
        EngineSettings s = read("");
        assertEquals(new EngineSettings(0, EngineSettings.Device.CPU), s);
        assertEquals(Runtime.getRuntime().availableProcessors(), s.computeThreads());
        assertEquals(3, read("expertmesh.engine { threads = 3, device = auto }").computeThreads());
    }

    @Test
    void anInvalidValueFailsNamingTheKeyAndTheValue() {
        var e = assertThrows(IllegalArgumentException.class, () -> read("expertmesh.engine.threads = -1"));
        assertEquals("expertmesh.engine.threads must be at least 0 (0: one per available processor), got -1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> read("expertmesh.engine.device = tpu"));
        assertEquals("expertmesh.engine.device must be cpu, cuda or auto, not 'tpu'", e.getMessage());
    }
}
