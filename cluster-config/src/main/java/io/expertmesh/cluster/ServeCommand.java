package io.expertmesh.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.expertmesh.gateway.GatewaySettings;
import io.expertmesh.model.cli.CliArgs;
import java.nio.file.Path;
import java.util.Set;

/**
 * {@code mesh serve [--model DIR] [--port P] [--host H] [--api-key K] [--threads N]}: one node with
 * every role, serving the HTTP API until SIGTERM, which drains running streams first.
 */
final class ServeCommand {
    private ServeCommand() {}

    static void run(String[] argv, Path defaultModel) {
        CliArgs a = CliArgs.parse("serve", argv, Set.of("model", "port", "host", "api-key", "threads"), Set.of("debug"));
        Path dir = a.directory("model", defaultModel);
        Config config = ConfigFactory.load();
        if (a.has("threads")) {
            config = ConfigFactory.parseString("expertmesh.engine.threads = " + a.integer("threads", 0, 1, 4096)).withFallback(config);
        }
        GatewaySettings http = GatewaySettings.from(config);
        http = http.withPort(a.integer("port", http.port(), 0, 65535));
        if (a.has("host")) http = http.withHost(a.required("host"));
        if (a.has("api-key")) http = http.withApiKey(a.required("api-key"));
        MeshNode node = MeshNode.start(dir, config, http);
        node.awaitTermination();
    }
}
