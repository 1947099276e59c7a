package io.expertmesh.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class MetricsTextTest {
    private static final String TTFT = "mesh:time_to_first_token_seconds";

    static String scrape(long b01, long b02, long b05, long inf, double sum, double tokens) {
        return """
                # HELP mesh:time_to_first_token_seconds Time from arrival to the first generated token
                # TYPE mesh:time_to_first_token_seconds histogram
                mesh:time_to_first_token_seconds_bucket{le="0.1"} %d
                mesh:time_to_first_token_seconds_bucket{le="0.2"} %d
                mesh:time_to_first_token_seconds_bucket{le="0.5"} %d
                mesh:time_to_first_token_seconds_bucket{le="+Inf"} %d
                mesh:time_to_first_token_seconds_count %d
                mesh:time_to_first_token_seconds_sum %s
                mesh:generation_tokens_total %s
                mesh:expert_tokens_total{expert="0",node="a"} 5.0
                mesh:expert_tokens_total{expert="1",node="a"} 7.0
                """.formatted(b01, b02, b05, inf, inf, sum, tokens);
    }

    /** A node's MoE layer histogram (bounds as Micrometer writes them) and dispatch counters, as bench-serve scrapes them. */
    static String moeScrape(long b10, long b20, long b30, long b40, long inf, String dispatch) {
        return """
                mesh:moe_layer_seconds_bucket{le="1.0E-5"} %d
                mesh:moe_layer_seconds_bucket{le="2.0E-5"} %d
                mesh:moe_layer_seconds_bucket{le="3.0E-5"} %d
                mesh:moe_layer_seconds_bucket{le="4.0E-5"} %d
                mesh:moe_layer_seconds_bucket{le="+Inf"} %d
                mesh:moe_layer_seconds_count %d
                mesh:moe_layer_seconds_sum 0.01
                %s
                """.formatted(b10, b20, b30, b40, inf, inf, dispatch);
    }

    @Test
    void readsSamplesCountersAndBuckets() {
        MetricsText p = MetricsText.parse(scrape(1, 2, 3, 4, 1.5, 100));
        assertEquals(100.0, p.value("mesh:generation_tokens_total"));
        assertEquals(5.0, p.value("mesh:expert_tokens_total{expert=\"0\",node=\"a\"}"));
        assertEquals(12.0, p.counter("mesh:expert_tokens_total"));
        assertTrue(Double.isNaN(p.value("nope")));
        assertEquals(0.0, p.counter("nope"));
        assertEquals(Map.of(0.1, 1.0, 0.2, 2.0, 0.5, 3.0, Double.POSITIVE_INFINITY, 4.0), p.buckets(TTFT));
    }

    @Test
    void interpolatesQuantilesOfTheDifference() {
        MetricsText before = MetricsText.parse(scrape(10, 10, 10, 10, 0.5, 50));
        MetricsText after = MetricsText.parse(scrape(60, 110, 110, 110, 10.5, 150));
        MetricsText.Histogram h = MetricsText.Histogram.delta(before, after, TTFT);
        assertEquals(100, h.count());
        assertEquals(100, h.observations());
        assertEquals(0.1, h.mean(), 1e-12);
        // 50 observations in (0, 0.1], 50 in (0.1, 0.2]
        assertEquals(0.1, h.quantile(0.5), 1e-12);
        assertEquals(0.15, h.quantile(0.75), 1e-12);
        assertEquals(0.198, h.quantile(0.99), 1e-12);
        assertEquals("0.1-0.2", h.bucketOf(0.99));
        assertFalse(h.beyondLastBound(0.99));
        assertEquals(100, MetricsText.increase(before, after, "mesh:generation_tokens_total"));
    }

    @Test
    void aQuantileInTheInfBucketIsTheLastBound() {
        MetricsText.Histogram h = MetricsText.Histogram.delta(null, MetricsText.parse(scrape(0, 0, 1, 10, 30, 0)), TTFT);
        assertEquals(0.5, h.quantile(0.99), 1e-12);
        assertTrue(h.beyondLastBound(0.99));
        assertEquals(">0.5", h.bucketOf(0.99));
    }

    @Test
    void givesTheMoeLayerQuantilesAndDispatchTrafficBenchServeReports() {
        MetricsText before = MetricsText.parse(moeScrape(0, 3, 10, 10, 12, ""));
        MetricsText after = MetricsText.parse(moeScrape(0, 43, 190, 198, 200, """
                mesh:dispatch_messages_total{node="expert-1"} 30.0
                mesh:dispatch_messages_total{node="expert-2"} 34.0
                """));
        MetricsText.Histogram moe = MetricsText.Histogram.delta(before, after, "mesh:moe_layer_seconds");
        // what bench-serve's own reader computed from these two scrapes
        assertEquals(2.385714285714286E-5, moe.quantile(0.5), 1e-18);
        assertEquals(3.765000000000001E-5, moe.quantile(0.99), 1e-18);
        assertEquals(1.4700000000000002E-5, moe.quantile(0.1), 1e-18);
        assertEquals(188, moe.observations());
        // the dispatch counters appear with the first batch: none before counts as 0
        assertEquals(64, MetricsText.increase(before, after, "mesh:dispatch_messages_total"));
        assertEquals(0, MetricsText.increase(before, after, "mesh:dispatch_bytes_total"));
    }

    @Test
    void addsTheObservationsOfSeparateIntervals() {
        MetricsText t0 = MetricsText.parse(scrape(10, 10, 10, 10, 0.5, 50));
        MetricsText t1 = MetricsText.parse(scrape(60, 60, 60, 60, 3.0, 100));
        MetricsText t2 = MetricsText.parse(scrape(60, 110, 110, 110, 10.5, 150));
        var first = MetricsText.Histogram.delta(t0, t1, TTFT);
        var second = MetricsText.Histogram.delta(t1, t2, TTFT);
        var both = MetricsText.Histogram.empty().plus(first).plus(second);
        assertEquals(MetricsText.Histogram.delta(t0, t2, TTFT), both);
        assertEquals(0.1, both.quantile(0.5), 1e-12);
        assertEquals(0.05, first.quantile(0.5), 1e-12);
        assertEquals(0.15, second.quantile(0.5), 1e-12);
        assertTrue(MetricsText.Histogram.empty().isEmpty());
    }

    @Test
    void sumsHistogramBucketsOverTheirOtherLabels() {
        MetricsText m = MetricsText.parse("""
                h_bucket{node="a",le="0.5"} 1
                h_bucket{le="0.5",node="b"} 2
                h_bucket{node="a",le="+Inf"} 3
                h_bucket{le="+Inf",node="b"} 4
                h_count 7
                """);
        assertEquals(Map.of(0.5, 3.0, Double.POSITIVE_INFINITY, 7.0), m.buckets("h"));
        assertEquals(Map.of(), m.buckets("h_count"));
    }

    @Test
    void readsEscapedLabelValuesTimestampsAndSpecialValuesAndSkipsWhatIsNoSample() {
        MetricsText m = MetricsText.parse("""
                # TYPE c counter
                c_total{path="/a b}",quote="say \\"hi\\"",back="\\\\"} 2 1700000000000
                c_total{path="/other"} 3
                g +Inf
                n NaN
                broken{le="1" 4
                novalue
                junk x
                """);
        assertEquals(5.0, m.counter("c_total"));
        assertEquals(3.0, m.value("c_total{path=\"/other\"}"));
        assertEquals(Double.POSITIVE_INFINITY, m.value("g"));
        assertTrue(Double.isNaN(m.value("n")));
        for (String s : List.of("broken", "novalue", "junk")) assertEquals(0.0, m.counter(s), s);
    }

    @Test
    void followsHistogramQuantileAtTheEdges() {
        TreeMap<Double, Double> b = new TreeMap<>(Map.of(1.0, 2.0, 2.0, 4.0, Double.POSITIVE_INFINITY, 4.0));
        MetricsText.Histogram h = new MetricsText.Histogram(b, 4, 5);
        assertEquals(Double.NEGATIVE_INFINITY, h.quantile(-0.1));
        assertEquals(Double.POSITIVE_INFINITY, h.quantile(1.1));
        assertTrue(Double.isNaN(h.quantile(Double.NaN)));
        assertEquals(2.0, h.quantile(1.0), 1e-12);
        // no +Inf bucket, or nothing observed: no quantile
        assertTrue(Double.isNaN(new MetricsText.Histogram(new TreeMap<>(Map.of(1.0, 2.0, 2.0, 4.0)), 4, 5).quantile(0.5)));
        MetricsText.Histogram empty = new MetricsText.Histogram(new TreeMap<>(Map.of(1.0, 0.0, Double.POSITIVE_INFINITY, 0.0)), 0, 0);
        assertTrue(empty.isEmpty());
        assertTrue(Double.isNaN(empty.quantile(0.5)));
        // a count that falls (a counter reset inside one scrape) is raised to the one below it
        MetricsText.Histogram falling = new MetricsText.Histogram(new TreeMap<>(Map.of(1.0, 4.0, 2.0, 2.0, Double.POSITIVE_INFINITY, 4.0)), 4, 5);
        assertEquals(0.5, falling.quantile(0.5), 1e-12);
        // bounds at or below 0: the first bucket's quantile is its bound
        MetricsText.Histogram negative = new MetricsText.Histogram(new TreeMap<>(Map.of(-1.0, 2.0, 1.0, 4.0, Double.POSITIVE_INFINITY, 4.0)), 4, 0);
        assertEquals(-1.0, negative.quantile(0.25), 1e-12);
        assertEquals(0.0, negative.quantile(0.75), 1e-12);
    }
}
