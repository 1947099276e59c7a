package io.expertmesh.loadtests;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Samples of a Prometheus text exposition (what {@code GET /metrics} returns), and the difference of two
 * scrapes of a histogram with quantiles interpolated inside buckets the way PromQL's
 * {@code histogram_quantile} does.
 */
public final class Prometheus {
    private final Map<String, Double> samples = new LinkedHashMap<>();

    private Prometheus() {}

    /** Parses {@code name{labels} value [timestamp]} lines; comments and blank lines are skipped. */
    public static Prometheus parse(String text) {
        Prometheus p = new Prometheus();
        for (String raw : text.split("\n")) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            int end = line.indexOf('}');
            int split = line.indexOf(' ', end < 0 ? 0 : end);
            if (split < 0) continue;
            String series = line.substring(0, split);
            String[] rest = line.substring(split + 1).strip().split("\\s+");
            double v;
            try {
                v = switch (rest[0]) {
                    case "+Inf" -> Double.POSITIVE_INFINITY;
                    case "-Inf" -> Double.NEGATIVE_INFINITY;
                    case "NaN" -> Double.NaN;
                    default -> Double.parseDouble(rest[0]);
                };
            } catch (NumberFormatException e) {
                continue;
            }
            p.samples.put(series, v);
        }
        return p;
    }

    /** The sample of this exact series ({@code name} or {@code name{labels}}), or NaN. */
    public double value(String series) {
        return samples.getOrDefault(series, Double.NaN);
    }

    /** The sum over all series of this metric name, whatever their labels (NaN if there are none). */
    public double sum(String name) {
        double s = 0;
        boolean any = false;
        for (Map.Entry<String, Double> e : samples.entrySet()) {
            String k = e.getKey();
            if (k.equals(name) || k.startsWith(name + "{")) {
                s += e.getValue();
                any = true;
            }
        }
        return any ? s : Double.NaN;
    }

    /** Cumulative bucket counts of histogram {@code name} (without {@code _bucket}) by upper bound; no other labels. */
    public TreeMap<Double, Double> buckets(String name) {
        TreeMap<Double, Double> b = new TreeMap<>();
        String prefix = name + "_bucket{le=\"";
        for (Map.Entry<String, Double> e : samples.entrySet()) {
            String k = e.getKey();
            if (!k.startsWith(prefix) || !k.endsWith("\"}")) continue;
            String le = k.substring(prefix.length(), k.length() - 2);
            double bound = le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
            b.put(bound, e.getValue());
        }
        return b;
    }

    /** A histogram's observations between two scrapes. */
    public record Histogram(TreeMap<Double, Double> cumulative, double count, double sum) {
        /** {@code after - before}, bucket by bucket. */
        public static Histogram delta(Prometheus before, Prometheus after, String name) {
            TreeMap<Double, Double> a = after.buckets(name);
            TreeMap<Double, Double> b = before == null ? new TreeMap<>() : before.buckets(name);
            TreeMap<Double, Double> d = new TreeMap<>();
            a.forEach((le, v) -> d.put(le, v - b.getOrDefault(le, 0.0)));
            double count = after.value(name + "_count") - (before == null ? 0 : orZero(before.value(name + "_count")));
            double sum = after.value(name + "_sum") - (before == null ? 0 : orZero(before.value(name + "_sum")));
            return new Histogram(d, count, sum);
        }

        public boolean isEmpty() {
            return cumulative.isEmpty() || !(count > 0);
        }

        /**
         * The q-quantile (0..1), interpolated linearly inside the bucket that holds it, as PromQL's
         * histogram_quantile does. In the +Inf bucket it is the largest finite bound (then {@link #beyondLastBound}).
         */
        public double quantile(double q) {
            if (isEmpty()) return Double.NaN;
            List<Map.Entry<Double, Double>> list = new ArrayList<>(cumulative.entrySet());
            double total = list.getLast().getValue();
            if (!(total > 0)) return Double.NaN;
            double rank = q * total;
            double prevBound = 0, prevCount = 0;
            for (Map.Entry<Double, Double> e : list) {
                double bound = e.getKey(), c = e.getValue();
                if (c >= rank) {
                    if (Double.isInfinite(bound)) return prevBound;
                    if (c == prevCount) return bound;
                    return prevBound + (bound - prevBound) * (rank - prevCount) / (c - prevCount);
                }
                prevBound = bound;
                prevCount = c;
            }
            return prevBound;
        }

        /** True when the q-quantile falls in the +Inf bucket, so {@link #quantile} is only a lower bound. */
        public boolean beyondLastBound(double q) {
            if (isEmpty()) return false;
            double total = cumulative.lastEntry().getValue();
            double finite = 0;
            for (Map.Entry<Double, Double> e : cumulative.entrySet()) {
                if (!Double.isInfinite(e.getKey())) finite = e.getValue();
            }
            return finite < q * total;
        }

        /** The bucket bounds around the q-quantile, e.g. "0.04-0.06". */
        public String bucketOf(double q) {
            if (isEmpty()) return "-";
            double rank = q * cumulative.lastEntry().getValue();
            double prev = 0;
            for (Map.Entry<Double, Double> e : cumulative.entrySet()) {
                if (e.getValue() >= rank) {
                    return Double.isInfinite(e.getKey()) ? ">" + prev : prev + "-" + e.getKey();
                }
                prev = e.getKey();
            }
            return "-";
        }

        public double mean() {
            return count > 0 ? sum / count : Double.NaN;
        }
    }

    private static double orZero(double v) {
        return Double.isNaN(v) ? 0 : v;
    }
}
