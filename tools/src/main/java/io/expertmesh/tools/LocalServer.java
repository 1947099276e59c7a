package io.expertmesh.tools;

import java.nio.file.Path;

/**
 * A one-node server started in this process for {@code bench-serve}. The tools depend on the model
 * only, so the launcher, which composes the server, hands {@link ServeBench} a {@link Starter}.
 */
public interface LocalServer extends AutoCloseable {
    /** The loopback port its HTTP API listens on. */
    int httpPort();

    @Override
    void close();

    /** Starts a server on {@code model} with an HTTP port of its own choosing. */
    @FunctionalInterface
    interface Starter {
        /**
         * {@code threads}: compute threads, 0 for the configured default; {@code maxRunning} and
         * {@code maxWaiting}: scheduler limits high enough for the benchmark's levels.
         */
        LocalServer start(Path model, int threads, int maxRunning, int maxWaiting);
    }
}
