package io.expertmesh.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class GatewaySettingsTest {
    private static GatewaySettings read(String overrides) {
        return GatewaySettings.from(ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load()));
    }

    private static void assertFails(String overrides, String message) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> read(overrides)).getMessage());
    }

    @Test
    void defaultsComeFromTheModulesReferenceConf() {
        GatewaySettings s = read("");
        assertEquals(new GatewaySettings("127.0.0.1", 8080, 1 << 20, null, 1024, 16, Duration.ofSeconds(10), Duration.ofSeconds(1),
                Duration.ofSeconds(10), 512, List.of(), ""), s);
        assertNull(s.apiKey());
    }

    @Test
    void anInvalidValueFailsNamingTheKeyAndTheValue() {
        assertFails("expertmesh.http.port = 65536", "expertmesh.http.port must be between 0 and 65535, got 65536");
        assertFails("expertmesh.http.max-body-size = 0", "expertmesh.http.max-body-size must be at least 1 byte, got 0 bytes");
        assertFails("expertmesh.http.default-max-tokens = 0", "expertmesh.http.default-max-tokens must be at least 1, got 0");
        assertFails("expertmesh.http.max-requests-per-socket = 0", "expertmesh.http.max-requests-per-socket must be at least 1, got 0");
        assertFails("expertmesh.http.body-read-timeout = 0s", "expertmesh.http.body-read-timeout must be positive, got 0 ms");
        assertFails("expertmesh.http.heartbeat-interval = -1s", "expertmesh.http.heartbeat-interval must be positive, got -1000 ms");
        assertFails("expertmesh.http.header-timeout = 0s", "expertmesh.http.header-timeout must be positive, got 0 ms");
        assertFails("expertmesh.http.max-connections = 0", "expertmesh.http.max-connections must be at least 1, got 0");
        assertFails("expertmesh.http.reasoning-parser = deepseek_r1",
                "expertmesh.http.reasoning-parser must be \"\" (none) or one of [ernie45], got \"deepseek_r1\"");
    }

    @Test
    void allowedOriginsAreOriginsNothingMore() {
        assertEquals(List.of("https://chat.example.com", "http://10.0.0.5:8080"),
                read("expertmesh.http.allowed-origins = [\"https://Chat.Example.com\", \"http://10.0.0.5:8080\"]").allowedOrigins());
        for (String bad : List.of("chat.example.com", "https://chat.example.com/", "https://chat.example.com/app", "ftp://example.com",
                "https://user@example.com", "*")) {
            var e = assertThrows(IllegalArgumentException.class, () -> read("expertmesh.http.allowed-origins = [\"" + bad + "\"]"));
            assertTrue(e.getMessage().startsWith("expertmesh.http.allowed-origins: \"" + bad + "\" is not an origin"), e.getMessage());
        }
    }

    @Test
    void aMistypedValueFailsNamingTheKey() {
        var e = assertThrows(IllegalArgumentException.class, () -> read("expertmesh.http.port = many"));
        assertTrue(e.getMessage().contains("expertmesh.http.port"), e.getMessage());
    }
}
