package io.expertmesh.attention;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;

/**
 * How an attention node's MoE layers reach the experts (HOCON {@code expertmesh.dispatch}): whether a
 * node with the expert role too runs them in-process, how long a layer waits for a reply, how long it
 * waits for a new placement before it tries the same hosts again, how long it keeps retrying, the
 * shared expert's extra wait, and how often the placement tracker wakes experts that have no host.
 */
public record DispatchSettings(boolean localFastPath, Duration replyTimeout, Duration retryInterval, Duration layerDeadline,
                               Duration sharedExpertWaitMargin, Duration wakeInterval) {
    /** Keys that lived under expertmesh.experts until the attention side got its own section. */
    private static final List<String> MOVED = List.of("local-fast-path", "reply-timeout", "layer-deadline", "wake-interval");

    public DispatchSettings {
        positive("reply-timeout", replyTimeout);
        positive("retry-interval", retryInterval);
        positive("layer-deadline", layerDeadline);
        positive("shared-expert-wait-margin", sharedExpertWaitMargin);
        positive("wake-interval", wakeInterval);
    }

    private static void positive(String key, Duration value) {
        if (!value.isPositive()) {
            throw new IllegalArgumentException("expertmesh.dispatch." + key + " must be positive, got " + value.toMillis() + " ms");
        }
    }

    /** Reads {@code expertmesh.dispatch}; a key still set under its old name fails, rather than being ignored. */
    public static DispatchSettings from(Config config) {
        for (String key : MOVED) {
            if (config.hasPath("expertmesh.experts." + key)) {
                throw new IllegalArgumentException("expertmesh.experts." + key + " is now expertmesh.dispatch." + key);
            }
        }
        String d = "expertmesh.dispatch.";
        return new DispatchSettings(config.getBoolean(d + "local-fast-path"), config.getDuration(d + "reply-timeout"),
                config.getDuration(d + "retry-interval"), config.getDuration(d + "layer-deadline"),
                config.getDuration(d + "shared-expert-wait-margin"), config.getDuration(d + "wake-interval"));
    }
}
