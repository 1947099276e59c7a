package io.expertmesh.gateway;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * HTTP front-end limits and options (HOCON {@code expertmesh.http}): where to listen, the largest
 * request body, the optional API key, the output length when a request names none, and the
 * WebSocket limits.
 */
public record GatewaySettings(String host, int port, long maxBodyBytes, String apiKey, int defaultMaxTokens, int maxSocketRequests,
                              Duration bodyReadTimeout, Duration heartbeatInterval) {
    public static GatewaySettings from(Config config) {
        Config c = config.getConfig("expertmesh.http");
        String key = c.getString("api-key");
        return new GatewaySettings(c.getString("host"), c.getInt("port"), c.getBytes("max-body-size"), key.isEmpty() ? null : key,
                c.getInt("default-max-tokens"), c.getInt("max-requests-per-socket"), c.getDuration("body-read-timeout"),
                c.getDuration("heartbeat-interval"));
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
