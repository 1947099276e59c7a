package io.expertmesh.tools;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * One scrape of {@code GET /metrics} in Prometheus' text exposition format: its samples, counters summed over
 * their labels, the cumulative buckets of a histogram, what a histogram observed between two scrapes, and its
 * quantiles as PromQL's {@code histogram_quantile} computes them. {@code bench-serve} and the load tests both
 * read the server's metrics through it.
 */
public final class MetricsText {
    /** One sample line: its series as written ({@code name} or {@code name{labels}}), metric name, labels and value. */
    private record Sample(String series, String name, Map<String, String> labels, double value) {}

    /** By series as written. */
    private final Map<String, Sample> samples = new LinkedHashMap<>();

    private MetricsText() {}

    /**
     * Parses {@code name{label="value",...} value [timestamp]} lines. Comments, blank lines and lines that
     * are not a sample are skipped.
     */
    public static MetricsText parse(String text) {
        MetricsText m = new MetricsText();
        for (String raw : text.split("\n")) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            Sample s = sample(line);
            if (s != null) m.samples.put(s.series(), s);
        }
        return m;
    }

    /** The sample of this exact series ({@code name} or {@code name{labels}} as the scrape writes it), or NaN. */
    public double value(String series) {
        Sample s = samples.get(series);
        return s == null ? Double.NaN : s.value();
    }

    /**
     * A counter summed over all its series (every node, every label value); 0 when the scrape has none, as
     * Micrometer registers some counters only when they first count.
     */
    public double counter(String name) {
        double sum = 0;
        for (Sample s : samples.values()) {
            if (s.name().equals(name)) sum += s.value();
        }
        return sum;
    }

    /** How much a counter grew from {@code before} (null: from nothing) to {@code after}. */
    public static double increase(MetricsText before, MetricsText after, String name) {
        return after.counter(name) - (before == null ? 0 : before.counter(name));
    }

    /**
     * The cumulative bucket counts of histogram {@code name} (without {@code _bucket}) by upper bound, summed over
     * its other labels, as {@code sum by (le)} does.
     */
    public NavigableMap<Double, Double> buckets(String name) {
        TreeMap<Double, Double> b = new TreeMap<>();
        String bucket = name + "_bucket";
        for (Sample s : samples.values()) {
            String le = s.labels().get("le");
            if (!s.name().equals(bucket) || le == null) continue;
            b.merge(number(le), s.value(), Double::sum);
        }
        return b;
    }

    /** A histogram's observations between two scrapes (or since the server started): cumulative buckets, count and sum. */
    public record Histogram(NavigableMap<Double, Double> cumulative, double count, double sum) {
        /** {@code after - before}, bucket by bucket; {@code before} may be null. */
        public static Histogram delta(MetricsText before, MetricsText after, String name) {
            NavigableMap<Double, Double> b = before == null ? new TreeMap<>() : before.buckets(name);
            TreeMap<Double, Double> d = new TreeMap<>();
            after.buckets(name).forEach((le, v) -> d.put(le, v - b.getOrDefault(le, 0.0)));
            return new Histogram(d, increase(before, after, name + "_count"), increase(before, after, name + "_sum"));
        }

        /** No observations (no buckets): what {@link #plus} starts from. */
        public static Histogram empty() {
            return new Histogram(new TreeMap<>(), 0, 0);
        }

        /** The observations of both, bucket by bucket (a bound only one of them has counts as 0 in the other). */
        public Histogram plus(Histogram other) {
            TreeMap<Double, Double> d = new TreeMap<>(cumulative);
            other.cumulative.forEach((le, v) -> d.merge(le, v, Double::sum));
            return new Histogram(d, count + other.count, sum + other.sum);
        }

        /** The observations the buckets hold: the count of the last, +Inf, bucket. */
        public double observations() {
            return cumulative.isEmpty() ? 0 : cumulative.lastEntry().getValue();
        }

        public boolean isEmpty() {
            return !(observations() > 0);
        }

        /**
         * The q-quantile (0..1) as PromQL's histogram_quantile computes it: interpolated linearly inside the bucket
         * that holds it (from 0 in the first bucket); in the +Inf bucket it is the largest finite bound (then
         * {@link #beyondLastBound}). NaN without observations or without a +Inf bucket; bucket counts that fall
         * are taken as the largest count below them, as Prometheus does.
         */
        public double quantile(double q) {
            if (Double.isNaN(q)) return Double.NaN;
            if (q < 0) return Double.NEGATIVE_INFINITY;
            if (q > 1) return Double.POSITIVE_INFINITY;
            int n = cumulative.size();
            if (n < 2 || cumulative.lastKey() != Double.POSITIVE_INFINITY) return Double.NaN;
            double[] bounds = new double[n];
            double[] counts = new double[n];
            int i = 0;
            for (Map.Entry<Double, Double> e : cumulative.entrySet()) {
                bounds[i] = e.getKey();
                counts[i] = i == 0 ? e.getValue() : Math.max(counts[i - 1], e.getValue());
                i++;
            }
            double observations = counts[n - 1];
            if (!(observations > 0)) return Double.NaN;
            double rank = q * observations;
            int b = 0;
            while (b < n - 1 && counts[b] < rank) b++;
            if (b == n - 1) return bounds[n - 2];
            if (b == 0 && bounds[0] <= 0) return bounds[0];
            double start = b == 0 ? 0 : bounds[b - 1];
            double below = b == 0 ? 0 : counts[b - 1];
            return start + (bounds[b] - start) * (rank - below) / (counts[b] - below);
        }

        /** True when the q-quantile falls in the +Inf bucket, so {@link #quantile} is only a lower bound. */
        public boolean beyondLastBound(double q) {
            if (isEmpty()) return false;
            double finite = 0;
            for (Map.Entry<Double, Double> e : cumulative.entrySet()) {
                if (!Double.isInfinite(e.getKey())) finite = e.getValue();
            }
            return finite < q * observations();
        }

        /** The bucket bounds around the q-quantile, e.g. "0.04-0.06". */
        public String bucketOf(double q) {
            if (isEmpty()) return "-";
            double rank = q * observations();
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

    /** A sample value or bucket bound: a float, +Inf, -Inf or NaN. */
    private static double number(String s) {
        return switch (s) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(s);
        };
    }

    /** The sample on this line ({@code name{label="value",...} value [timestamp]}), or null when it is not one. */
    private static Sample sample(String line) {
        int n = line.length();
        int i = 0;
        while (i < n && line.charAt(i) != '{' && !Character.isWhitespace(line.charAt(i))) i++;
        String name = line.substring(0, i);
        Map<String, String> labels = new LinkedHashMap<>();
        if (i < n && line.charAt(i) == '{') {
            i++;
            while (true) {
                while (i < n && (line.charAt(i) == ' ' || line.charAt(i) == ',')) i++;
                if (i >= n) return null;
                if (line.charAt(i) == '}') break;
                int eq = line.indexOf("=\"", i);
                if (eq < 0) return null;
                String key = line.substring(i, eq).strip();
                StringBuilder value = new StringBuilder();
                // a label value may hold escaped quotes, backslashes and newlines
                for (i = eq + 2; i < n && line.charAt(i) != '"'; i++) {
                    char c = line.charAt(i);
                    if (c == '\\' && i + 1 < n) c = line.charAt(++i) == 'n' ? '\n' : line.charAt(i);
                    value.append(c);
                }
                if (i >= n) return null;
                i++;
                labels.put(key, value.toString());
            }
            i++;
        }
        String[] rest = line.substring(i).strip().split("\\s+");
        if (name.isEmpty() || rest[0].isEmpty()) return null;
        try {
            return new Sample(line.substring(0, i), name, labels, number(rest[0]));
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
