package io.expertmesh.gateway;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.time.Duration;

/**
 * HTTP front-end limits and options (HOCON {@code expertmesh.http}): where to listen, the largest
 * request body, the optional API key, the output length when a request names none, and the
 * WebSocket limits.
 */
public record GatewaySettings(String host, int port, long maxBodyBytes, String apiKey, int defaultMaxTokens, int maxSocketRequests,
                              Duration bodyReadTimeout, Duration heartbeatInterval) {
    public GatewaySettings {
        if (host.isBlank()) throw new IllegalArgumentException("expertmesh.http.host must not be empty");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("expertmesh.http.port must be between 0 and 65535, got " + port);
        if (maxBodyBytes < 1) {
            throw new IllegalArgumentException("expertmesh.http.max-body-size must be at least 1 byte, got " + maxBodyBytes + " bytes");
        }
        atLeastOne("default-max-tokens", defaultMaxTokens);
        atLeastOne("max-requests-per-socket", maxSocketRequests);
        positive("body-read-timeout", bodyReadTimeout);
        positive("heartbeat-interval", heartbeatInterval);
    }

    private static void atLeastOne(String key, int value) {
        if (value < 1) throw new IllegalArgumentException("expertmesh.http." + key + " must be at least 1, got " + value);
    }

    private static void positive(String key, Duration value) {
        if (!value.isPositive()) throw new IllegalArgumentException("expertmesh.http." + key + " must be positive, got " + value.toMillis() + " ms");
    }

    /** Reads {@code expertmesh.http}; a missing or mistyped key fails as an IllegalArgumentException naming it. */
    public static GatewaySettings from(Config config) {
        try {
            String h = "expertmesh.http.";
            String key = config.getString(h + "api-key");
            return new GatewaySettings(config.getString(h + "host"), config.getInt(h + "port"), config.getBytes(h + "max-body-size"),
                    key.isEmpty() ? null : key, config.getInt(h + "default-max-tokens"), config.getInt(h + "max-requests-per-socket"),
                    config.getDuration(h + "body-read-timeout"), config.getDuration(h + "heartbeat-interval"));
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    public GatewaySettings withPort(int newPort) {
        return new GatewaySettings(host, newPort, maxBodyBytes, apiKey, defaultMaxTokens, maxSocketRequests, bodyReadTimeout, heartbeatInterval);
    }

    public GatewaySettings withHost(String newHost) {
        return new GatewaySettings(newHost, port, maxBodyBytes, apiKey, defaultMaxTokens, maxSocketRequests, bodyReadTimeout, heartbeatInterval);
    }

    public GatewaySettings withApiKey(String key) {
        return new GatewaySettings(host, port, maxBodyBytes, key, defaultMaxTokens, maxSocketRequests, bodyReadTimeout, heartbeatInterval);
    }
}
