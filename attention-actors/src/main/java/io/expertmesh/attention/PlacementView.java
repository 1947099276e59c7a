package io.expertmesh.attention;

import java.util.concurrent.atomic.AtomicReference;

/**
 * The latest {@link Placement}, published by the {@link PlacementTracker} and read without messages
 * by the step that dispatches rows and by the HTTP status endpoints.
 */
public final class PlacementView {
    private final AtomicReference<Placement> current;

    public PlacementView(int experts) {
        this.current = new AtomicReference<>(Placement.empty(experts));
    }

    public Placement current() {
        return current.get();
    }

    void publish(Placement placement) {
        current.set(placement);
        synchronized (this) {
            notifyAll();
        }
    }

    /**
     * Waits until the placement's version is above {@code version} or {@code millis} pass; returns
     * the placement then. Called by the compute thread of a step, never by an actor.
     */
    public Placement awaitNewerThan(long version, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        synchronized (this) {
            while (current.get().version() <= version) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) break;
                wait(left);
            }
        }
        return current.get();
    }
}
