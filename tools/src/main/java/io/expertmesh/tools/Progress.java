package io.expertmesh.tools;

import java.io.PrintStream;

/**
 * Progress of long work on stderr with an ETA: one line rewritten in place on a terminal, a line
 * every few seconds otherwise (logs, CI).
 */
public final class Progress {
    private static final long REDRAW_NANOS = 250_000_000L;
    private static final long LOG_NANOS = 5_000_000_000L;

    private final PrintStream err;
    private final String task;
    private final double total;
    private final String unit;
    private final boolean terminal = System.console() != null;
    private final long start = System.nanoTime();
    private long lastPrint;
    private double done;

    public Progress(PrintStream err, String task, double total, String unit) {
        this.err = err;
        this.task = task;
        this.total = total;
        this.unit = unit;
    }

    public synchronized void advance(double amount) {
        done += amount;
        long now = System.nanoTime();
        if (now - lastPrint >= (terminal ? REDRAW_NANOS : LOG_NANOS)) {
            lastPrint = now;
            print(now, false);
        }
    }

    public synchronized void finish() {
        print(System.nanoTime(), true);
    }

    private void print(long now, boolean last) {
        double seconds = (now - start) / 1e9;
        double fraction = total > 0 ? Math.min(1, done / total) : 1;
        String eta = fraction > 0 && fraction < 1 && !last ? String.format(", ETA %s", duration(seconds / fraction - seconds)) : "";
        String line = String.format("%s: %.1f / %.1f %s (%.0f%%), %s elapsed%s", task, done, total, unit, 100 * fraction,
                duration(seconds), eta);
        if (terminal) err.print("\r\033[K" + line + (last ? "\n" : ""));
        else err.println(line);
        err.flush();
    }

    /** {@code 45s}, {@code 2m05s} or {@code 1h30m}. */
    static String duration(double s) {
        long t = Math.round(s);
        return t >= 3600 ? String.format("%dh%02dm", t / 3600, t / 60 % 60) : t >= 60 ? String.format("%dm%02ds", t / 60, t % 60) : t + "s";
    }
}
