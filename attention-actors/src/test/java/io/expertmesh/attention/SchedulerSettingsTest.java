package io.expertmesh.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SchedulerSettingsTest {
    private static SchedulerSettings read(String overrides) {
        return SchedulerSettings.from(ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()));
    }

    private static void assertFails(String overrides, String message) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> read(overrides)).getMessage());
    }

    @Test
    void defaultsComeFromTheModulesReferenceConf() {
        SchedulerSettings s = read("");
        assertEquals(new SchedulerSettings(256, 32, 64, 32768, Duration.ofSeconds(30), Duration.ofSeconds(5)), s);
        assertEquals(Duration.ofSeconds(35), s.drainWait());
    }

    @Test
    void theContextIsCappedByTheModelsAndZeroMeansTheModels() {
        assertEquals(4096, read("").forModel(4096).maxContext());
        assertEquals(100, read("expertmesh.scheduler.max-context = 100").forModel(4096).maxContext());
        assertEquals(4096, read("expertmesh.scheduler.max-context = 0").forModel(4096).maxContext());
    }

    @Test
    void anInvalidValueFailsNamingTheKeyAndTheValue() {
        assertFails("expertmesh.scheduler.max-batch-tokens = 0", "expertmesh.scheduler.max-batch-tokens must be at least 1, got 0");
        assertFails("expertmesh.scheduler.max-running = 0", "expertmesh.scheduler.max-running must be at least 1, got 0");
        assertFails("expertmesh.scheduler.max-waiting = -1", "expertmesh.scheduler.max-waiting must be at least 0, got -1");
        assertFails("expertmesh.scheduler.max-context = 1", "expertmesh.scheduler.max-context must be 0 (the model's) or at least 2, got 1");
        assertFails("expertmesh.scheduler.drain-timeout = -1s", "expertmesh.scheduler.drain-timeout must not be negative, got -1000 ms");
        assertFails("expertmesh.scheduler.drain-last-step-timeout = 0s",
                "expertmesh.scheduler.drain-last-step-timeout must be positive, got 0 ms");
    }
}
