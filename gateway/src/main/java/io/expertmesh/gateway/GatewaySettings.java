package io.expertmesh.gateway;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * HTTP front-end limits and options (HOCON {@code expertmesh.http}): where to listen, the largest
 * request body, the optional API key, the output length when a request names none, the
 * WebSocket limits, the connection limits ({@link HttpServer}), the origins besides the
 * server's own whose pages may call it, and the reasoning parser chat answers go through.
 *
 * @param reasoningParser {@code ernie45} to split chat output into {@code reasoning_content} and {@code content}; "" for none
 */
public record GatewaySettings(String host, int port, long maxBodyBytes, String apiKey, int defaultMaxTokens, int maxSocketRequests,
                              Duration bodyReadTimeout, Duration heartbeatInterval, Duration headerTimeout, int maxConnections,
                              List<String> allowedOrigins, String reasoningParser) {
    /** The reasoning parsers there are: vLLM's name for ERNIE-4.5's. */
    public static final List<String> REASONING_PARSERS = List.of("ernie45");

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
        positive("header-timeout", headerTimeout);
        atLeastOne("max-connections", maxConnections);
        allowedOrigins = allowedOrigins.stream().map(GatewaySettings::origin).toList();
        if (!reasoningParser.isEmpty() && !REASONING_PARSERS.contains(reasoningParser)) {
            throw new IllegalArgumentException("expertmesh.http.reasoning-parser must be \"\" (none) or one of " + REASONING_PARSERS
                    + ", got \"" + reasoningParser + "\"");
        }
    }

    /** Whether chat output is split into reasoning and answer. */
    public boolean parsesReasoning() {
        return !reasoningParser.isEmpty();
    }

    /** An origin as browsers send it ({@code scheme://host[:port]}, lower case), or a failure naming the key. */
    private static String origin(String value) {
        URI uri;
        try {
            uri = new URI(value);
        } catch (URISyntaxException e) {
            uri = null;
        }
        if (uri == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null
                || !uri.getRawPath().isEmpty() || uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException("expertmesh.http.allowed-origins: \"" + value
                    + "\" is not an origin (scheme://host or scheme://host:port, http or https, nothing after)");
        }
        return value.toLowerCase(Locale.ROOT);
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
                    config.getDuration(h + "body-read-timeout"), config.getDuration(h + "heartbeat-interval"),
                    config.getDuration(h + "header-timeout"), config.getInt(h + "max-connections"), config.getStringList(h + "allowed-origins"),
                    config.getString(h + "reasoning-parser"));
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    public GatewaySettings withPort(int newPort) {
        return new GatewaySettings(host, newPort, maxBodyBytes, apiKey, defaultMaxTokens, maxSocketRequests, bodyReadTimeout, heartbeatInterval,
                headerTimeout, maxConnections, allowedOrigins, reasoningParser);
    }

    public GatewaySettings withHost(String newHost) {
        return new GatewaySettings(newHost, port, maxBodyBytes, apiKey, defaultMaxTokens, maxSocketRequests, bodyReadTimeout, heartbeatInterval,
                headerTimeout, maxConnections, allowedOrigins, reasoningParser);
    }

    public GatewaySettings withReasoningParser(String parser) {
        return new GatewaySettings(host, port, maxBodyBytes, apiKey, defaultMaxTokens, maxSocketRequests, bodyReadTimeout, heartbeatInterval,
                headerTimeout, maxConnections, allowedOrigins, parser);
    }

    public GatewaySettings withApiKey(String key) {
        return new GatewaySettings(host, port, maxBodyBytes, key, defaultMaxTokens, maxSocketRequests, bodyReadTimeout, heartbeatInterval,
                headerTimeout, maxConnections, allowedOrigins, reasoningParser);
    }
}
