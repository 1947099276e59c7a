package io.expertmesh.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mesh soak}'s command line, its kill schedule and its RSS-growth rule; the run itself is checked by CI's 2-minute smoke. */
class SoakTest {
    @TempDir
    Path model;

    private Soak.Settings settings(String... args) {
        return Soak.settings(args, model);
    }

    private String usageError(String... args) {
        return assertThrows(UsageException.class, () -> settings(args)).getMessage();
    }

    @Test
    void theDurationDefaultsToThirtyMinutesAndIsBoundedFrom10sTo24h() {
        assertEquals(Duration.ofMinutes(30), settings().duration());
        assertEquals(Duration.ofSeconds(10), settings("--duration", "10s").duration());
        assertEquals(Duration.ofHours(24), settings("--duration", "24h").duration());
        assertEquals("--duration must be between 10s and 24h00m, got 9s", usageError("--duration", "9s"));
        assertTrue(usageError("--duration", "25h").contains("between 10s and 24h00m"));
        assertEquals("--duration must be a duration such as 500ms, 30s, 2m or 1h, got '2 minutes'", usageError("--duration", "2 minutes"));
    }

    @Test
    void samplesComeEvery10sOrATwentiethOfAShortRunAndWarmUpIsAFifthOfTheRunButAtLeast30s() {
        Soak.Settings smoke = settings("--duration", "2m");
        assertEquals(Duration.ofSeconds(6), smoke.sampleEvery());
        assertEquals(Duration.ofSeconds(30), smoke.warmup());
        Soak.Settings longRun = settings("--duration", "30m");
        assertEquals(Duration.ofSeconds(10), longRun.sampleEvery());
        assertEquals(Duration.ofMinutes(6), longRun.warmup());
        Soak.Settings tiny = settings("--duration", "10s");
        assertEquals(Duration.ofSeconds(1), tiny.sampleEvery());
        assertEquals(Duration.ofSeconds(10), tiny.warmup(), "a run shorter than 30 s is all warm-up: its RSS is not judged");
        assertTrue(usageError("--duration", "1m", "--warmup", "2m").contains("--warmup must be between"));
    }

    @Test
    void killEveryNeedsClusterAndUrlMustBeLoopbackWithoutClusterOrNodeOptions() {
        assertEquals("--kill-every needs --cluster", usageError("--kill-every", "2m"));
        assertEquals(Duration.ofMinutes(2), settings("--cluster", "--kill-every", "2m").killEvery());
        assertTrue(usageError("--cluster", "--kill-every", "30s").contains("--kill-every must be between 1m00s"));
        assertEquals("http://127.0.0.1:8080/", settings("--url", "http://127.0.0.1:8080").url().toString());
        assertTrue(usageError("--url", "http://example.com:8080").contains("stays on loopback"));
        assertTrue(usageError("--url", "http://localhost:8080").contains("stays on loopback"), "no name is resolved");
        assertTrue(usageError("--url", "http://[bad").startsWith("--url: "));
        assertTrue(usageError("--url", "http://127.0.0.1:8080", "--cluster").contains("exclude each other"));
        assertTrue(usageError("--url", "http://127.0.0.1:8080", "--heap", "256").contains("not with --url"));
    }

    @Test
    void killsComeEveryKillEveryUntil90sBeforeTheEndOrOnceAtMidRunWhenNoneFits() {
        assertEquals(List.of(Duration.ofMinutes(1)), Soak.killTimes(Duration.ofMinutes(2), Duration.ofMinutes(3)));
        assertEquals(List.of(Duration.ofMinutes(3), Duration.ofMinutes(6)), Soak.killTimes(Duration.ofMinutes(10), Duration.ofMinutes(3)));
        List<Duration> halfHour = Soak.killTimes(Duration.ofMinutes(30), Duration.ofMinutes(3));
        assertEquals(9, halfHour.size());
        assertEquals(Duration.ofMinutes(27), halfHour.getLast());
    }

    private static List<SoakNode.Sample> rss(long... mib) {
        List<SoakNode.Sample> samples = new ArrayList<>();
        for (int i = 0; i < mib.length; i++) {
            samples.add(new SoakNode.Sample(i * 10L, 1, 42, new ProcessMemory.Reading(mib[i] << 20, null)));
        }
        return samples;
    }

    @Test
    void rssGrowthRunsFromTheFirstSampleAfterWarmUpToTheLastAndIgnoresTheWarmUp() {
        // Samples at 0, 10, 20, ...; warm-up ends at 20.
        Soak.RssGrowth g = Soak.RssGrowth.after(rss(100, 150, 200, 230, 215), 20);
        assertEquals(200L << 20, g.firstBytes());
        assertEquals(230L << 20, g.maxBytes());
        assertEquals(215L << 20, g.lastBytes());
        assertEquals(7.5, g.percent(), 1e-9);
        assertEquals(11.0, Soak.RssGrowth.after(rss(100, 100, 111), 10).percent(), 1e-9);
    }

    @Test
    void aRunWithFewerThanTwoSamplesAfterWarmUpIsNotJudged() {
        assertNull(Soak.RssGrowth.after(rss(100, 150, 200), 20));
        assertNull(Soak.RssGrowth.after(rss(), 0));
    }
}
