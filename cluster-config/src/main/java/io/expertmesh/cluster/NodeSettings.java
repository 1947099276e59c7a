package io.expertmesh.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.expertmesh.attention.DispatchSettings;
import io.expertmesh.attention.SchedulerSettings;
import io.expertmesh.experts.ExpertHostSettings;
import io.expertmesh.kvstore.KvSettings;
import io.expertmesh.protocol.ClusterKeys;
import io.expertmesh.protocol.LinkTransport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What a node reads from its configuration, read and checked once before the model is loaded: its
 * roles, whether it starts a cluster (no seed nodes) and its host name, its cluster keys (null: the
 * cluster transport and dispatch links are plaintext), the engine, how long starting and stopping may take, the coordinated-shutdown phase the drain runs in, and each module's settings.
 * A bad value, or a drain that cannot end within its shutdown phase, fails the start with the keys
 * named (docs/settings.md, "Shutdown and deadlines").
 */
record NodeSettings(List<String> roles, boolean joinSelf, String hostname, ClusterKeys clusterKeys, EngineSettings engine, Duration startTimeout, Duration stopTimeout,
                    Duration drainPhaseTimeout, KvSettings kv, ExpertHostSettings experts, DispatchSettings dispatch,
                    SchedulerSettings scheduler) {
    static final String DRAIN_PHASE_TIMEOUT = "pekko.coordinated-shutdown.phases.before-service-unbind.timeout";
    static final String CLUSTER_KEYS = "expertmesh.node.cluster-keys";

    NodeSettings {
        roles = List.copyOf(roles);
        for (String role : roles) {
            if (!MeshNode.ROLES.contains(role)) {
                throw new IllegalArgumentException("unknown role '" + role + "' (roles: " + String.join(", ", MeshNode.ROLES) + ")");
            }
        }
        if (roles.contains("gateway") && !roles.contains("attention")) {
            throw new IllegalArgumentException("the gateway role needs the attention role on the same node");
        }
        if (!roles.contains("attention") && !roles.contains("expert")) {
            throw new IllegalArgumentException("a node needs the attention or the expert role (or both)");
        }
        positive("expertmesh.node.start-timeout", startTimeout);
        positive("expertmesh.node.stop-timeout", stopTimeout);
        // The drain task runs in this phase; when the phase ends first, the shutdown unbinds and stops
        // the node under streams that were still allowed to finish.
        if (drainPhaseTimeout.compareTo(scheduler.drainWait()) <= 0) {
            throw new IllegalArgumentException(DRAIN_PHASE_TIMEOUT + " (" + drainPhaseTimeout.toMillis()
                    + " ms) must be longer than expertmesh.scheduler.drain-timeout (" + scheduler.drainTimeout().toMillis()
                    + " ms) + expertmesh.scheduler.drain-last-step-timeout (" + scheduler.drainLastStepTimeout().toMillis() + " ms)");
        }
    }

    private static void positive(String key, Duration value) {
        if (!value.isPositive()) throw new IllegalArgumentException(key + " must be positive, got " + value.toMillis() + " ms");
    }

    /** Reads and checks every setting; a missing or mistyped key fails as an IllegalArgumentException naming it. */
    static NodeSettings from(Config config) {
        try {
            Duration drainPhase = config.hasPath(DRAIN_PHASE_TIMEOUT) ? config.getDuration(DRAIN_PHASE_TIMEOUT)
                    : config.getDuration("pekko.coordinated-shutdown.default-phase-timeout");
            String keys = config.getString(CLUSTER_KEYS);
            return new NodeSettings(config.getStringList("pekko.cluster.roles"), config.getStringList("pekko.cluster.seed-nodes").isEmpty(),
                    config.getString("pekko.remote.artery.canonical.hostname"), keys.isEmpty() ? null : ClusterKeys.load(Path.of(keys)),
                    EngineSettings.from(config),
                    config.getDuration("expertmesh.node.start-timeout"), config.getDuration("expertmesh.node.stop-timeout"), drainPhase,
                    KvSettings.from(config), ExpertHostSettings.from(config), DispatchSettings.from(config), SchedulerSettings.from(config));
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** How this node's dispatch links open their connections. */
    LinkTransport linkTransport() {
        return clusterKeys == null ? LinkTransport.plaintext() : LinkTransport.mutualTls(clusterKeys);
    }

    boolean has(String role) {
        return roles.contains(role);
    }
}
