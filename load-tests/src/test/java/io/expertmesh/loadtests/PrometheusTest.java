package io.expertmesh.loadtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PrometheusTest {
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

    @Test
    void readsSamples() {
        Prometheus p = Prometheus.parse(scrape(1, 2, 3, 4, 1.5, 100));
        assertEquals(100.0, p.value("mesh:generation_tokens_total"));
        assertEquals(12.0, p.sum("mesh:expert_tokens_total"));
        assertTrue(Double.isNaN(p.value("nope")));
        assertEquals(4, p.buckets("mesh:time_to_first_token_seconds").size());
    }

    @Test
    void interpolatesQuantilesOfTheDifference() {
        Prometheus before = Prometheus.parse(scrape(10, 10, 10, 10, 0.5, 50));
        Prometheus after = Prometheus.parse(scrape(60, 110, 110, 110, 10.5, 150));
        Prometheus.Histogram h = Prometheus.Histogram.delta(before, after, "mesh:time_to_first_token_seconds");
        assertEquals(100, h.count());
        assertEquals(0.1, h.mean(), 1e-12);
        // 50 observations in (0, 0.1], 50 in (0.1, 0.2]
        assertEquals(0.1, h.quantile(0.5), 1e-12);
        assertEquals(0.15, h.quantile(0.75), 1e-12);
        assertEquals(0.198, h.quantile(0.99), 1e-12);
        assertEquals("0.1-0.2", h.bucketOf(0.99));
        assertFalse(h.beyondLastBound(0.99));
    }

    @Test
    void aQuantileInTheInfBucketIsTheLastBound() {
        Prometheus.Histogram h = Prometheus.Histogram.delta(null, Prometheus.parse(scrape(0, 0, 1, 10, 30, 0)), "mesh:time_to_first_token_seconds");
        assertEquals(0.5, h.quantile(0.99), 1e-12);
        assertTrue(h.beyondLastBound(0.99));
        assertEquals(">0.5", h.bucketOf(0.99));
    }
}
