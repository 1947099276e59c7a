package io.expertmesh.attention;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Scheduler limits (HOCON {@code expertmesh.scheduler}): tokens per step (prefill chunks plus one
 * token per decoding sequence), sequences in the running batch, requests in the admission queue, the
 * longest sequence (prompt + output) accepted (0: the model's, until {@link #forModel}), and the drain
 * on shutdown: how long running streams may finish, then how long the step in progress may still take.
 */
public record SchedulerSettings(int maxBatchTokens, int maxRunning, int maxWaiting, int maxContext, Duration drainTimeout,
                                Duration drainLastStepTimeout) {
    public SchedulerSettings {
        atLeast("max-batch-tokens", maxBatchTokens, 1);
        atLeast("max-running", maxRunning, 1);
        atLeast("max-waiting", maxWaiting, 0);
        if (maxContext != 0 && maxContext < 2) {
            throw new IllegalArgumentException("expertmesh.scheduler.max-context must be 0 (the model's) or at least 2, got " + maxContext);
        }
        if (drainTimeout.isNegative()) {
            throw new IllegalArgumentException("expertmesh.scheduler.drain-timeout must not be negative, got " + drainTimeout.toMillis() + " ms");
        }
        if (!drainLastStepTimeout.isPositive()) {
            throw new IllegalArgumentException("expertmesh.scheduler.drain-last-step-timeout must be positive, got "
                    + drainLastStepTimeout.toMillis() + " ms");
        }
    }

    private static void atLeast(String key, int value, int least) {
        if (value < least) throw new IllegalArgumentException("expertmesh.scheduler." + key + " must be at least " + least + ", got " + value);
    }

    /** Reads {@code expertmesh.scheduler}; a max-context of 0 stays 0 until {@link #forModel}. */
    public static SchedulerSettings from(Config config) {
        String s = "expertmesh.scheduler.";
        return new SchedulerSettings(config.getInt(s + "max-batch-tokens"), config.getInt(s + "max-running"), config.getInt(s + "max-waiting"),
                config.getInt(s + "max-context"), config.getDuration(s + "drain-timeout"), config.getDuration(s + "drain-last-step-timeout"));
    }

    /** These settings with the context capped by the model's {@code modelContext} (and 0 made the model's): what the scheduler runs with. */
    public SchedulerSettings forModel(int modelContext) {
        return new SchedulerSettings(maxBatchTokens, maxRunning, maxWaiting, maxContext == 0 ? modelContext : Math.min(maxContext, modelContext),
                drainTimeout, drainLastStepTimeout);
    }

    /** The longest wait for a drain to end: drain-timeout, then the step in progress. */
    public Duration drainWait() {
        return drainTimeout.plus(drainLastStepTimeout);
    }
}
