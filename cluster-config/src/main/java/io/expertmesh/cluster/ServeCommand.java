package io.expertmesh.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.expertmesh.gateway.GatewaySettings;
import io.expertmesh.tools.CliArgs;
import io.expertmesh.tools.UsageException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * {@code mesh serve [--model DIR] [--port P] [--host H] [--api-key K] [--threads N] [--device cpu|cuda|auto]}:
 * one node with every role, serving the HTTP API until SIGTERM, which drains running streams first.
 */
final class ServeCommand {
    private ServeCommand() {}

    static void run(String[] argv, Path defaultModel) {
        CliArgs a = CliArgs.parse("serve", argv, Set.of("model", "port", "host", "api-key", "threads", "device"), Set.of("debug"));
        Path dir = a.directory("model", defaultModel);
        Config config = ConfigFactory.load();
        if (a.has("threads")) {
            config = ConfigFactory.parseString("expertmesh.engine.threads = " + a.integer("threads", 0, 1, 4096)).withFallback(config);
        }
        if (a.has("device")) config = withDevice(config, a.required("device"));
        GatewaySettings http = GatewaySettings.from(config);
        http = http.withPort(a.integer("port", http.port(), 0, 65535));
        if (a.has("host")) http = http.withHost(a.required("host"));
        if (a.has("api-key")) http = http.withApiKey(a.required("api-key"));
        MeshNode node = MeshNode.start(dir, config, http);
        node.awaitTermination();
    }

    /** {@code --device} as {@code expertmesh.engine.device}, checked here so a typo is a usage error. */
    static Config withDevice(Config config, String device) {
        if (!Set.of("cpu", "cuda", "auto").contains(device)) throw new UsageException("--device must be cpu, cuda or auto, not '" + device + "'");
        return ConfigFactory.parseMap(Map.of("expertmesh.engine.device", device)).withFallback(config);
    }
}
