package io.expertmesh.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.expertmesh.gateway.GatewaySettings;
import io.expertmesh.tools.CliArgs;
import io.expertmesh.tools.CommandSpec;
import io.expertmesh.tools.GpuCheckpoint;
import io.expertmesh.tools.LocalServer;
import io.expertmesh.tools.ModelCommands;
import io.expertmesh.tools.Option;
import io.expertmesh.tools.UsageException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * {@code mesh serve} (options: {@link #SPEC}): one node with every role, serving the HTTP API until
 * SIGTERM, which drains running streams first.
 */
final class ServeCommand {
    static final String THREADS_KEY = "expertmesh.engine.threads";
    static final String DEVICE_KEY = "expertmesh.engine.device";

    /** Options serve and node share; their defaults are read from the configuration the node starts with. */
    static final Option API_KEY = Option.computed("api-key", "KEY",
            configured("expertmesh.http.api-key", c -> GatewaySettings.from(c).apiKey() == null ? "none" : "the configured one"),
            "require \"Authorization: Bearer KEY\" (but not on /health, /metrics)");
    static final Option REASONING_PARSER = Option.computed("reasoning-parser", "NAME",
            configured("expertmesh.http.reasoning-parser", c -> GatewaySettings.from(c).parsesReasoning()
                    ? GatewaySettings.from(c).reasoningParser() : "none"),
            // Spelled out, not read from GatewaySettings.REASONING_PARSERS: this is built with the command table, and a
            // lean distribution runs generate and tokenize without the gateway's classes (MeshMainTest keeps the two equal).
            "split chat output into reasoning_content and content: ernie45");
    static final Option THREADS = Option.computed("threads", "N",
            configured(THREADS_KEY, c -> c.getInt(THREADS_KEY) + (c.getInt(THREADS_KEY) == 0 ? " = one per available processor" : "")),
            "compute threads of the engine");
    static final Option DEVICE = GpuCheckpoint.DEVICE.withDefault(configured(DEVICE_KEY, c -> c.getString(DEVICE_KEY)));

    static final CommandSpec SPEC = CommandSpec.of("serve",
            "Runs one node with every role, serving the HTTP API until SIGTERM (which drains running streams).",
            ModelCommands.MODEL,
            Option.computed("port", "P", configured("expertmesh.http.port", c -> String.valueOf(GatewaySettings.from(c).port())),
                    "HTTP port; 0 picks a free one (the log says which)"),
            Option.computed("host", "H", configured("expertmesh.http.host", c -> GatewaySettings.from(c).host()),
                    "the address the HTTP API listens on"),
            API_KEY,
            REASONING_PARSER,
            THREADS,
            DEVICE);

    private ServeCommand() {}

    /** A default of the configuration the node starts with, shown with its key. */
    static Supplier<String> configured(String key, Function<Config, String> shown) {
        return () -> shown.apply(ConfigFactory.load()) + ", from " + key;
    }

    static void run(String[] argv, Path defaultModel) {
        CliArgs a = CliArgs.parse(SPEC, argv);
        Path dir = a.model("model", defaultModel);
        Config config = withThrowawayKeys(ConfigFactory.load());
        if (a.has("threads")) {
            config = ConfigFactory.parseString(THREADS_KEY + " = " + a.integer("threads", 0, 1, 4096)).withFallback(config);
        }
        if (a.has("device")) config = withDevice(config, a.required("device"));
        GatewaySettings http = GatewaySettings.from(config);
        http = http.withPort(a.integer("port", http.port(), 0, 65535));
        if (a.has("host")) http = http.withHost(a.required("host"));
        if (a.has("api-key")) http = http.withApiKey(a.required("api-key"));
        http = withReasoningParser(http, a);
        MeshNode node = MeshNode.start(dir, config, http);
        node.awaitTermination();
    }

    /** {@code --reasoning-parser NAME}, checked against the parsers there are. */
    static GatewaySettings withReasoningParser(GatewaySettings http, CliArgs a) {
        if (!a.has("reasoning-parser")) return http;
        String name = a.required("reasoning-parser");
        if (!GatewaySettings.REASONING_PARSERS.contains(name)) {
            throw new UsageException("--reasoning-parser must be one of " + String.join(", ", GatewaySettings.REASONING_PARSERS) + ", got " + name);
        }
        return http.withReasoningParser(name);
    }

    /** A one-node server for bench-serve, on a free port, with the scheduler limits the benchmark asks for. */
    static LocalServer startForBenchmark(Path model, int threads, int maxRunning, int maxWaiting) {
        Config config = ConfigFactory.parseMap(Map.of("expertmesh.scheduler.max-running", maxRunning,
                "expertmesh.scheduler.max-waiting", maxWaiting)).withFallback(withThrowawayKeys(ConfigFactory.load()));
        if (threads > 0) config = ConfigFactory.parseMap(Map.of(THREADS_KEY, threads)).withFallback(config);
        MeshNode node = MeshNode.start(model, config, GatewaySettings.from(config).withPort(0));
        return new LocalServer() {
            @Override
            public int httpPort() {
                return node.httpPort();
            }

            @Override
            public void close() {
                node.close();
            }
        };
    }

    /** A one-node cluster's keys, made fresh for this run unless the configuration names some. */
    private static Config withThrowawayKeys(Config config) {
        if (!config.getString(NodeSettings.CLUSTER_KEYS).isEmpty()) return config;
        return ConfigFactory.parseMap(Map.of(NodeSettings.CLUSTER_KEYS, ClusterKeysCommand.throwaway().toString())).withFallback(config);
    }

    /** {@code --device} as {@code expertmesh.engine.device}, checked here so a typo is a usage error. */
    static Config withDevice(Config config, String device) {
        if (!Set.of("cpu", "cuda", "auto").contains(device)) throw new UsageException("--device must be cpu, cuda or auto, not '" + device + "'");
        return ConfigFactory.parseMap(Map.of(DEVICE_KEY, device)).withFallback(config);
    }
}
