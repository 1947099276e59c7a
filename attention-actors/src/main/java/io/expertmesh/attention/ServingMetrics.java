package io.expertmesh.attention;

import io.expertmesh.kvstore.KvBlockPool;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The serving metrics, named as vLLM's with the prefix {@code mesh:} (Prometheus adds the unit and
 * {@code _total} suffixes): latency histograms, request and KV gauges, token and prefix-cache
 * counters, and tokens routed per expert.
 */
public final class ServingMetrics implements DispatchedMoeFeedForward.DispatchMetrics {
    private static final Duration[] LATENCY_BUCKETS = buckets(0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03,
            0.04, 0.06, 0.08, 0.1, 0.15, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80);

    /** Every 10 µs up to 200 µs, every 25 µs up to 1 ms (a decode layer's range), then coarser up to 10 s (prefill). */
    private static final Duration[] MOE_LAYER_BUCKETS = moeLayerBuckets();

    final Timer timeToFirstToken;
    final Timer interTokenLatency;
    final Timer endToEnd;
    final Timer queueTime;
    final Counter promptTokens;
    final Counter generationTokens;
    final Counter preemptions;
    final AtomicInteger running = new AtomicInteger();
    private final MeterRegistry registry;
    private final Map<String, NodeCounters> dispatchCounters = new ConcurrentHashMap<>();
    private final Timer moeLayer;
    final AtomicInteger waiting = new AtomicInteger();

    public ServingMetrics(MeterRegistry registry, KvBlockPool pool, ExpertLoad load, PlacementView placement, String node) {
        this.registry = registry;
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
        // Fine below a millisecond: one node and a cluster are compared by this histogram's quantiles.
        moeLayer = Timer.builder("mesh:moe_layer").description(
                "Per MoE layer of a step: routed experts (in-process, or dispatched to the expert nodes and combined) plus the shared expert")
                .serviceLevelObjectives(MOE_LAYER_BUCKETS)
                .register(registry);
        Gauge.builder("mesh:placement_version", placement, p -> p.current().version())
                .description("Version of this node's expert placement table").register(registry);
        for (int e = 0; e < load.experts(); e++) {
            int expert = e;
            FunctionCounter.builder("mesh:expert_tokens", load, l -> l.tokens(expert))
                    .description("Tokens routed to each expert, summed over MoE layers")
                    .tags("expert", Integer.toString(e), "node", node)
                    .register(registry);
        }
    }

    /** One expert node's dispatch counters, registered on its first batch and looked up without allocating afterwards. */
    private record NodeCounters(Counter messages, Counter rows, Counter bytes) {}

    private NodeCounters countersOf(String node) {
        return dispatchCounters.computeIfAbsent(node, n -> new NodeCounters(
                Counter.builder("mesh:dispatch_messages").description("Dispatch batches sent to each expert node (one per node per MoE layer and step)")
                        .tag("node", n).register(registry),
                Counter.builder("mesh:dispatch_rows").description("Rows (tokens) carried by the dispatch batches sent to each expert node")
                        .tag("node", n).register(registry),
                Counter.builder("mesh:dispatch_bytes").description("Bytes of the dispatch frames sent to and received from each expert node")
                        .tag("node", n).register(registry)));
    }

    @Override
    public void dispatched(String node, int rows, long bytes) {
        NodeCounters c = countersOf(node);
        c.messages().increment();
        c.rows().increment(rows);
        c.bytes().increment(bytes);
    }

    @Override
    public void replied(String node, long bytes) {
        countersOf(node).bytes().increment(bytes);
    }

    /** One MoE layer's time, in-process or dispatched. */
    public void moeLayer(long nanos) {
        record(moeLayer, nanos);
    }

    private static Timer timer(MeterRegistry registry, String name, String description) {
        return Timer.builder(name).description(description).serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
    }

    private static Duration[] moeLayerBuckets() {
        List<Duration> b = new ArrayList<>();
        for (long us = 10; us <= 200; us += 10) b.add(Duration.ofNanos(us * 1000));
        for (long us = 225; us <= 1000; us += 25) b.add(Duration.ofNanos(us * 1000));
        b.addAll(List.of(buckets(0.00125, 0.0015, 0.00175, 0.002, 0.0025, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 10)));
        return b.toArray(Duration[]::new);
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
