package io.expertmesh.attention;

import io.expertmesh.experts.ExpertLoad;
import io.expertmesh.kvstore.KvBlockPool;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The serving metrics, named as vLLM's with the prefix {@code mesh:} (Prometheus adds the unit and
 * {@code _total} suffixes): latency histograms, request and KV gauges, token and prefix-cache
 * counters, and tokens routed per expert.
 */
public final class ServingMetrics {
    private static final Duration[] LATENCY_BUCKETS = buckets(0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
            1, 2.5, 5, 7.5, 10, 20, 40, 80);

    final Timer timeToFirstToken;
    final Timer interTokenLatency;
    final Timer endToEnd;
    final Timer queueTime;
    final Counter promptTokens;
    final Counter generationTokens;
    final Counter preemptions;
    final AtomicInteger running = new AtomicInteger();
    final AtomicInteger waiting = new AtomicInteger();

    public ServingMetrics(MeterRegistry registry, KvBlockPool pool, ExpertLoad load, String node) {
        timeToFirstToken = timer(registry, "mesh:time_to_first_token", "Time from arrival to the first generated token");
        interTokenLatency = timer(registry, "mesh:inter_token_latency", "Time between consecutive generated tokens");
        endToEnd = timer(registry, "mesh:e2e_request_latency", "Time from arrival to the end of a request");
        queueTime = timer(registry, "mesh:request_queue_time", "Time a request waited before its first step");
        promptTokens = Counter.builder("mesh:prompt_tokens").description("Prompt tokens admitted").register(registry);
        generationTokens = Counter.builder("mesh:generation_tokens").description("Tokens generated").register(registry);
        preemptions = Counter.builder("mesh:num_preemptions").description("Sequences preempted for KV blocks (recomputed later)").register(registry);
        Gauge.builder("mesh:num_requests_running", running, AtomicInteger::get).description("Sequences in the running batch").register(registry);
        Gauge.builder("mesh:num_requests_waiting", waiting, AtomicInteger::get).description("Requests in the admission queue").register(registry);
        Gauge.builder("mesh:kv_cache_usage_perc", pool, KvBlockPool::usage).description("Fraction of KV blocks in use (0-1)").register(registry);
        FunctionCounter.builder("mesh:prefix_cache_queries", pool, p -> p.prefixQueries()).description("Prompt tokens looked up in the prefix cache").register(registry);
        FunctionCounter.builder("mesh:prefix_cache_hits", pool, p -> p.prefixHits()).description("Prompt tokens served from the prefix cache").register(registry);
        for (int e = 0; e < load.experts(); e++) {
            int expert = e;
            FunctionCounter.builder("mesh:expert_tokens", load, l -> l.tokens(expert))
                    .description("Tokens routed to each expert, summed over MoE layers")
                    .tags("expert", Integer.toString(e), "node", node)
                    .register(registry);
        }
    }

    private static Timer timer(MeterRegistry registry, String name, String description) {
        return Timer.builder(name).description(description).serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
    }

    private static Duration[] buckets(double... seconds) {
        Duration[] out = new Duration[seconds.length];
        for (int i = 0; i < seconds.length; i++) out[i] = Duration.ofNanos((long) (seconds[i] * 1e9));
        return out;
    }

    static void record(Timer timer, long nanos) {
        timer.record(nanos, TimeUnit.NANOSECONDS);
    }
}
