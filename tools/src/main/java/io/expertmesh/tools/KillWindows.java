package io.expertmesh.tools;

import java.util.ArrayList;
import java.util.List;

/**
 * The stretches of a soak in which a killed node may cost streams: each from a SIGKILL until a grace
 * period after the experts are back on every expert node, or until the end while they are not.
 * Times are {@link System#nanoTime()}.
 */
final class KillWindows {
    private final List<long[]> windows = new ArrayList<>();

    /** Opens a window at {@code startNanos}; returns its index for {@link #close}. */
    synchronized int open(long startNanos) {
        windows.add(new long[] {startNanos, Long.MAX_VALUE});
        return windows.size() - 1;
    }

    synchronized void close(int index, long endNanos) {
        windows.get(index)[1] = endNanos;
    }

    synchronized boolean contains(long nanos) {
        for (long[] w : windows) {
            if (nanos >= w[0] && nanos <= w[1]) return true;
        }
        return false;
    }

    /** Each window as "START–END s" in seconds from {@code originNanos}; one still open ends "–(end)". */
    synchronized List<String> describe(long originNanos) {
        List<String> out = new ArrayList<>();
        for (long[] w : windows) {
            String end = w[1] == Long.MAX_VALUE ? "(end)" : String.format("%.1f s", (w[1] - originNanos) / 1e9);
            out.add(String.format("%.1f–%s", (w[0] - originNanos) / 1e9, end));
        }
        return out;
    }
}
