package io.expertmesh.attention;

import com.typesafe.config.Config;

/**
 * Scheduler limits (HOCON {@code expertmesh.scheduler}): tokens per step (prefill chunks plus one
 * token per decoding sequence), sequences in the running batch, requests in the admission queue, and
 * the longest sequence (prompt + output) accepted.
 */
public record SchedulerSettings(int maxBatchTokens, int maxRunning, int maxWaiting, int maxContext) {
    public SchedulerSettings {
        if (maxBatchTokens < 1 || maxRunning < 1 || maxWaiting < 0 || maxContext < 2) {
            throw new IllegalArgumentException("expertmesh.scheduler: max-batch-tokens and max-running must be ≥ 1, max-waiting ≥ 0, "
                    + "max-context ≥ 2; got " + maxBatchTokens + ", " + maxRunning + ", " + maxWaiting + ", " + maxContext);
        }
    }

    /** Reads {@code expertmesh.scheduler}; the context is capped by the model's {@code modelContext}. */
    public static SchedulerSettings from(Config config, int modelContext) {
        Config c = config.getConfig("expertmesh.scheduler");
        int context = c.getInt("max-context");
        return new SchedulerSettings(c.getInt("max-batch-tokens"), c.getInt("max-running"), c.getInt("max-waiting"),
                context <= 0 ? modelContext : Math.min(context, modelContext));
    }
}
