package io.expertmesh.attention;

import io.expertmesh.experts.ExpertHost;
import io.expertmesh.experts.Placement;
import io.expertmesh.experts.PlacementView;
import io.expertmesh.experts.SharedExpert;
import io.expertmesh.model.engine.Mlp;
import io.expertmesh.model.engine.MoeFeedForward;
import io.expertmesh.model.engine.Routing;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.weights.ErnieWeights;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * A MoE layer's feed-forward through the actors: for each destination host ONE
 * {@link ExpertHost.DispatchBatch} with the rows routed to any of its experts (plus expert ids and
 * router weights), while the co-located {@link SharedExpert} computes; ONE
 * {@link ExpertHost.PartialSums} reply per host, added per row in host order, then the shared output.
 * With every expert on one host this gives exactly the numbers of the in-process path.
 *
 * <p>Runs on the step's compute thread, which waits for the replies; no actor thread blocks. A host
 * that refuses (its expert moved) or does not answer in time makes the layer wait for the next
 * placement version and try again, until the layer's deadline.
 */
public final class DispatchedMoeFeedForward implements MoeFeedForward {
    private final ErnieWeights weights;
    private final PlacementView placement;
    private final ActorRef<SharedExpert.Command> shared;
    private final ActorSystem<?> system;
    private final Duration replyTimeout;
    private final Duration layerDeadline;
    private final int activationBytes;
    private final DispatchMetrics metrics;
    private final AtomicLong calls = new AtomicLong();

    /** What a dispatch costs, per destination node: payload bytes both ways and the layer's round trip. */
    public interface DispatchMetrics {
        void dispatched(String node, long bytes);

        void layerRoundTrip(long nanos);
    }

    /** {@code activationBytes}: 4 when activations cross nodes as F32, 2 as BF16 (for the byte counts). */
    public DispatchedMoeFeedForward(ErnieWeights weights, PlacementView placement, ActorRef<SharedExpert.Command> shared,
                                    ActorSystem<?> system, Duration replyTimeout, Duration layerDeadline, int activationBytes,
                                    DispatchMetrics metrics) {
        this.weights = weights;
        this.placement = placement;
        this.shared = shared;
        this.system = system;
        this.replyTimeout = replyTimeout;
        this.layerDeadline = layerDeadline;
        this.activationBytes = activationBytes;
        this.metrics = metrics;
    }

    @Override
    public FloatMatrix apply(int layer, FloatMatrix x, Routing routing) {
        CompletableFuture<SharedExpert.Output> sharedOut = weights.layers().get(layer).moe().shared() == null ? null
                : AskPattern.<SharedExpert.Command, SharedExpert.Output>ask(shared,
                        replyTo -> new SharedExpert.Compute(layer, x, replyTo), replyTimeout, system.scheduler()).toCompletableFuture();
        FloatMatrix out = routed(calls.incrementAndGet(), layer, x, routing);
        if (sharedOut != null) {
            SharedExpert.Output s = await(sharedOut, "the shared expert of layer " + layer);
            if (s.out() == null) throw new IllegalStateException("shared expert of layer " + layer + " failed: " + s.failure());
            Mlp.addInPlace(out, s.out());
        }
        return out;
    }

    private FloatMatrix routed(long step, int layer, FloatMatrix x, Routing routing) {
        long start = System.nanoTime();
        long deadline = start + layerDeadline.toNanos();
        Placement p = placement.current();
        List<String> problems = new ArrayList<>();
        while (true) {
            String missing = missingExpert(p, routing);
            if (missing == null) {
                Map<ActorRef<ExpertHost.Command>, CompletableFuture<ExpertHost.DispatchReply>> replies = new LinkedHashMap<>();
                Map<ActorRef<ExpertHost.Command>, int[]> rowsByHost = dispatch(step, layer, x, routing, p, replies);
                FloatMatrix out = combine(x, replies, rowsByHost, problems);
                if (out != null) {
                    metrics.layerRoundTrip(System.nanoTime() - start);
                    return out;
                }
            } else if (problems.isEmpty() || !problems.getLast().equals(missing)) {
                problems.add(missing);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) break;
            try {
                p = placement.awaitNewerThan(p.version(), Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for expert placement", e);
            }
        }
        throw new IllegalStateException("routed experts of layer " + layer + " did not answer within "
                + layerDeadline.toMillis() + " ms: " + String.join("; ", problems));
    }

    private static String missingExpert(Placement p, Routing routing) {
        for (int e : routing.experts()) if (p.host(e) == null) return "expert " + e + " has no host";
        return null;
    }

    /** Sends each host its rows, hosts in node-name order; returns, per host, which step rows it got. */
    private Map<ActorRef<ExpertHost.Command>, int[]> dispatch(long step, int layer, FloatMatrix x, Routing routing, Placement p,
                                                              Map<ActorRef<ExpertHost.Command>, CompletableFuture<ExpertHost.DispatchReply>> replies) {
        int k = routing.k();
        int hidden = x.cols();
        Map<ActorRef<ExpertHost.Command>, List<Integer>> rows = new TreeMap<>(
                Comparator.comparing((ActorRef<ExpertHost.Command> host) -> nodeOf(p, host)).thenComparing(host -> host.path().toString()));
        for (int r = 0; r < routing.rows(); r++) {
            for (int j = 0; j < k; j++) {
                List<Integer> list = rows.computeIfAbsent(p.host(routing.expert(r, j)), h -> new ArrayList<>());
                if (list.isEmpty() || list.getLast() != r) list.add(r);
            }
        }
        Map<ActorRef<ExpertHost.Command>, int[]> rowsByHost = new LinkedHashMap<>();
        for (var e : rows.entrySet()) {
            ActorRef<ExpertHost.Command> host = e.getKey();
            int[] hostRows = e.getValue().stream().mapToInt(Integer::intValue).toArray();
            float[] activations = new float[hostRows.length * hidden];
            int[] experts = new int[hostRows.length * k];
            float[] w = new float[hostRows.length * k];
            for (int i = 0; i < hostRows.length; i++) {
                int r = hostRows[i];
                System.arraycopy(x.data(), x.offset(r), activations, i * hidden, hidden);
                for (int j = 0; j < k; j++) {
                    int expert = routing.expert(r, j);
                    boolean here = host.equals(p.host(expert));
                    experts[i * k + j] = here ? expert : -1;
                    w[i * k + j] = here ? routing.weight(r, j) : 0f;
                }
            }
            rowsByHost.put(host, hostRows);
            metrics.dispatched(nodeOf(p, host), 2L * activations.length * activationBytes + 8L * experts.length);
            replies.put(host, AskPattern.<ExpertHost.Command, ExpertHost.DispatchReply>ask(host,
                    replyTo -> new ExpertHost.DispatchBatch(step, layer, hostRows.length, hidden, activations, k, experts, w, replyTo),
                    replyTimeout, system.scheduler()).toCompletableFuture());
        }
        return rowsByHost;
    }

    private static String nodeOf(Placement p, ActorRef<ExpertHost.Command> host) {
        for (int e = 0; e < p.experts(); e++) if (host.equals(p.host(e))) return p.node(e);
        throw new IllegalStateException("host " + host + " is not in the placement");
    }

    /** Adds every host's partial sums into a fresh result; null when some host failed (reasons added to problems). */
    private FloatMatrix combine(FloatMatrix x, Map<ActorRef<ExpertHost.Command>, CompletableFuture<ExpertHost.DispatchReply>> replies,
                                Map<ActorRef<ExpertHost.Command>, int[]> rowsByHost, List<String> problems) {
        FloatMatrix out = FloatMatrix.zeros(x.rows(), x.cols());
        int hidden = x.cols();
        boolean ok = true;
        for (var entry : replies.entrySet()) {
            ExpertHost.DispatchReply reply;
            try {
                reply = entry.getValue().get(replyTimeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for experts", e);
            } catch (ExecutionException | TimeoutException e) {
                problems.add("no reply from " + entry.getKey().path() + " within " + replyTimeout.toMillis() + " ms");
                ok = false;
                continue;
            }
            switch (reply) {
                case ExpertHost.PartialSums sums -> {
                    int[] rows = rowsByHost.get(entry.getKey());
                    float[] s = sums.sums();
                    float[] d = out.data();
                    for (int i = 0; i < rows.length; i++) {
                        int dst = out.offset(rows[i]);
                        for (int c = 0; c < hidden; c++) d[dst + c] += s[i * hidden + c];
                    }
                }
                case ExpertHost.DispatchRefused refused -> {
                    problems.add(refused.reason());
                    ok = false;
                }
            }
        }
        return ok ? out : null;
    }

    private <T> T await(CompletableFuture<T> future, String what) {
        try {
            return future.get(replyTimeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + what, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException(what + " did not answer within " + replyTimeout.toMillis() + " ms", e);
        }
    }
}
