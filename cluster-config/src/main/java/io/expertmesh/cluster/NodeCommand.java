package io.expertmesh.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.expertmesh.gateway.GatewaySettings;
import io.expertmesh.tools.CliArgs;
import io.expertmesh.tools.CommandSpec;
import io.expertmesh.tools.ModelCommands;
import io.expertmesh.tools.Option;
import io.expertmesh.tools.UsageException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code mesh node --roles gateway,attention|expert --cluster-keys DIR} (options: {@link #SPEC}): one
 * cluster node. Without seed nodes it starts a new cluster by joining itself.
 */
final class NodeCommand {
    private static final String HOST = "127.0.0.1";
    private static final int CLUSTER_PORT = 0;

    static final CommandSpec SPEC = CommandSpec.of("node",
            "Runs one cluster node with the given roles; without --seed-nodes it starts a new cluster.",
            Option.required("roles", "ROLE,...", "what this node does: gateway, attention, expert (comma-separated)"),
            ModelCommands.MODEL,
            Option.valued("cluster-port", "P", CLUSTER_PORT, "the cluster (Artery) port; 0 picks a free one"),
            Option.valued("seed-nodes", "HOST:P,...", "none: this node starts a new cluster", "nodes of the cluster to join"),
            Option.computed("http-port", "P", ServeCommand.configured("expertmesh.http.port", c -> String.valueOf(GatewaySettings.from(c).port())),
                    "HTTP port of the gateway role; 0 picks a free one"),
            Option.valued("host", "H", HOST, "the address the node's cluster port and HTTP API listen on"),
            Option.valued("cluster-keys", "DIR", "none: refused unless --insecure", "this node's keys from `mesh cluster-keys` (DIR/NAME): "
                    + "Artery and the dispatch links run mutual TLS and refuse peers without keys from the same CA"),
            Option.flag("insecure", "run without --cluster-keys: any process that reaches the cluster port can join the cluster"),
            ServeCommand.API_KEY,
            ServeCommand.REASONING_PARSER,
            ServeCommand.THREADS,
            ServeCommand.DEVICE);

    private NodeCommand() {}

    static void run(String[] argv, Path defaultModel) {
        CliArgs a = CliArgs.parse(SPEC, argv);
        Path dir = a.model("model", defaultModel);
        List<String> roles = Arrays.stream(a.required("roles").split(",")).map(String::trim).filter(r -> !r.isEmpty()).toList();
        for (String r : roles) {
            if (!MeshNode.ROLES.contains(r)) throw new UsageException("--roles: unknown role '" + r + "' (roles: gateway, attention, expert)");
        }
        String host = a.string("host", HOST);
        int clusterPort = a.integer("cluster-port", CLUSTER_PORT, 0, 65535);
        List<String> seeds = new ArrayList<>();
        if (a.has("seed-nodes")) {
            for (String seed : a.required("seed-nodes").split(",")) {
                String[] hostPort = seed.trim().split(":");
                if (hostPort.length != 2 || !hostPort[1].matches("\\d{1,5}")) {
                    throw new UsageException("--seed-nodes: expected HOST:PORT[,HOST:PORT...], got '" + seed + "'");
                }
                seeds.add("pekko://expertmesh@" + hostPort[0] + ":" + hostPort[1]);
            }
        }
        Config config = ConfigFactory.empty()
                .withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(roles))
                .withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(seeds))
                .withValue("pekko.remote.artery.canonical.hostname", ConfigValueFactory.fromAnyRef(host))
                .withValue("pekko.remote.artery.canonical.port", ConfigValueFactory.fromAnyRef(clusterPort))
                .withFallback(ConfigFactory.load());
        if (a.has("cluster-keys")) {
            config = ConfigFactory.parseMap(Map.of(NodeSettings.CLUSTER_KEYS, Path.of(a.required("cluster-keys")).toAbsolutePath().toString()))
                    .withFallback(config);
        }
        boolean keyed = !config.getString(NodeSettings.CLUSTER_KEYS).isEmpty();
        if (keyed == a.flag("insecure")) {
            throw new UsageException(keyed ? "give either cluster keys (--cluster-keys or " + NodeSettings.CLUSTER_KEYS + ") or --insecure, not both"
                    : "--cluster-keys DIR is required (make keys with `mesh cluster-keys --out DIR --nodes NAME,...`), "
                    + "or --insecure to run an unauthenticated, unencrypted cluster");
        }
        if (a.has("device")) config = ServeCommand.withDevice(config, a.required("device"));
        if (a.has("threads")) {
            config = ConfigFactory.parseString(ServeCommand.THREADS_KEY + " = " + a.integer("threads", 0, 1, 4096)).withFallback(config);
        }
        GatewaySettings http = GatewaySettings.from(config).withHost(host);
        http = http.withPort(a.integer("http-port", http.port(), 0, 65535));
        if (a.has("api-key")) http = http.withApiKey(a.required("api-key"));
        http = ServeCommand.withReasoningParser(http, a);
        MeshNode.start(dir, config, http).awaitTermination();
    }
}
