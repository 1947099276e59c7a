package io.expertmesh.loadtests;

import java.util.Map;
import java.util.TreeMap;

/**
 * Exact counts of whole-millisecond values (what Gatling's clock gives), with nearest-rank percentiles.
 * Thread-safe.
 */
public final class MsHistogram {
    private final TreeMap<Long, Long> counts = new TreeMap<>();
    private long total;

    public synchronized void add(long ms) {
        counts.merge(Math.max(0, ms), 1L, Long::sum);
        total++;
    }

    public synchronized void addAll(MsHistogram other) {
        Map<Long, Long> copy;
        synchronized (other) {
            copy = new TreeMap<>(other.counts);
        }
        copy.forEach((k, v) -> counts.merge(k, v, Long::sum));
        total += copy.values().stream().mapToLong(Long::longValue).sum();
    }

    public synchronized long count() {
        return total;
    }

    /** The nearest-rank percentile ({@code p} in 0..100), or -1 when empty. */
    public synchronized long percentile(double p) {
        if (total == 0) return -1;
        long rank = Math.max(1, (long) Math.ceil(p / 100.0 * total));
        long seen = 0;
        for (Map.Entry<Long, Long> e : counts.entrySet()) {
            seen += e.getValue();
            if (seen >= rank) return e.getKey();
        }
        return counts.lastKey();
    }

    public synchronized long max() {
        return total == 0 ? -1 : counts.lastKey();
    }

    public synchronized double mean() {
        if (total == 0) return Double.NaN;
        double sum = 0;
        for (Map.Entry<Long, Long> e : counts.entrySet()) sum += (double) e.getKey() * e.getValue();
        return sum / total;
    }

    /** {@code {"<ms>": count, ...}} */
    public synchronized Map<String, Object> toJson() {
        Map<String, Object> m = new TreeMap<>((a, b) -> Long.compare(Long.parseLong(a), Long.parseLong(b)));
        counts.forEach((k, v) -> m.put(Long.toString(k), v));
        return m;
    }

    public static MsHistogram fromJson(Object json) {
        MsHistogram h = new MsHistogram();
        if (json instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                long ms = Long.parseLong(String.valueOf(e.getKey()));
                long n = ((Number) e.getValue()).longValue();
                h.counts.merge(ms, n, Long::sum);
                h.total += n;
            }
        }
        return h;
    }
}
