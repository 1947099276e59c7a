package io.expertmesh.attention;

import io.expertmesh.model.engine.Mlp;
import io.expertmesh.model.engine.MoeFeedForward;
import io.expertmesh.model.engine.Routing;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.weights.ErnieWeights;
import io.expertmesh.protocol.DispatchBatch;
import io.expertmesh.protocol.DispatchFrames;
import io.expertmesh.protocol.DispatchRefused;
import io.expertmesh.protocol.LinkTransport;
import io.expertmesh.protocol.PartialSums;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A MoE layer's feed-forward through the expert hosts: for each destination host ONE
 * {@link DispatchBatch} on its dispatch link with the rows routed to any of its experts
 * (plus expert ids and router weights), while the co-located {@link SharedExpert} computes; ONE
 * {@link PartialSums} reply per host, added per row in host order, then the shared output.
 * With every expert on one host this gives exactly the numbers of the in-process path.
 *
 * <p>Runs on the step's compute thread, which waits for the replies; no actor thread blocks. A host
 * that refuses (its expert moved), fails or does not answer in time makes the layer wait for the
 * next placement version, or {@code retry-interval} if none comes, and try again, until the layer's
 * deadline. Sending a batch again is safe: a host's answer is a pure function of the batch.
 */
public final class DispatchedMoeFeedForward implements MoeFeedForward {
    private static final Logger LOG = LoggerFactory.getLogger(DispatchedMoeFeedForward.class);
    private final ErnieWeights weights;
    private final PlacementView placement;
    private final ActorRef<SharedExpert.Command> shared;
    private final ActorSystem<?> system;
    private final DispatchLinks links;
    private final Duration replyTimeout;
    private final Duration retryInterval;
    private final Duration layerDeadline;
    private final Duration sharedExpertWait;
    private final DispatchMetrics metrics;
    private final AtomicLong calls = new AtomicLong();

    /** What a dispatch costs, per destination node: batches, their rows, and frame bytes both ways. */
    public interface DispatchMetrics {
        /** One batch of {@code rows} rows sent, its frame {@code bytes} long. */
        void dispatched(String node, int rows, long bytes);

        /** One reply received, its frame {@code bytes} long. */
        void replied(String node, long bytes);
    }

    /** Batches travel on dispatch links opened with {@code transport} carrying {@code frames}, waited for as {@code settings} say; {@link #close} closes the links. */
    public DispatchedMoeFeedForward(ErnieWeights weights, PlacementView placement, ActorRef<SharedExpert.Command> shared,
                                    ActorSystem<?> system, DispatchFrames frames, LinkTransport transport, DispatchSettings settings,
                                    DispatchMetrics metrics) {
        this.weights = weights;
        this.placement = placement;
        this.shared = shared;
        this.system = system;
        this.links = new DispatchLinks(frames, transport, settings.replyTimeout());
        this.replyTimeout = settings.replyTimeout();
        this.retryInterval = settings.retryInterval();
        this.layerDeadline = settings.layerDeadline();
        this.sharedExpertWait = settings.layerDeadline().plus(settings.sharedExpertWaitMargin());
        this.metrics = metrics;
    }

    /** Closes the dispatch links (on shutdown); a layer waiting for a reply then fails. */
    public void close() {
        links.close();
    }

    @Override
    public FloatMatrix apply(int layer, FloatMatrix x, Routing routing) {
        CompletableFuture<SharedExpert.Output> sharedOut = weights.layers().get(layer).moe().shared() == null ? null
                : AskPattern.<SharedExpert.Command, SharedExpert.Output>ask(shared,
                        replyTo -> new SharedExpert.Compute(layer, x, replyTo), layerDeadline, system.scheduler()).toCompletableFuture();
        FloatMatrix out = routed(calls.incrementAndGet(), layer, x, routing);
        if (sharedOut != null) {
            SharedExpert.Output s = await(sharedOut, "the shared expert of layer " + layer);
            if (s.out() == null) throw new IllegalStateException("shared expert of layer " + layer + " failed: " + s.failure());
            Mlp.addInPlace(out, s.out());
        }
        return out;
    }

    private FloatMatrix routed(long step, int layer, FloatMatrix x, Routing routing) {
        long started = System.nanoTime();
        long deadline = started + layerDeadline.toNanos();
        Placement p = placement.current();
        Set<String> problems = new LinkedHashSet<>();
        int tries = 0;
        while (true) {
            String missing = missingExpert(p, routing);
            if (missing == null) {
                tries++;
                FloatMatrix out = exchange(step, layer, x, routing, p, problems);
                if (out != null) {
                    if (tries > 1) {
                        LOG.warn("MoE layer {} of step {} answered on try {} after {} ms: {}", layer, step, tries,
                                (System.nanoTime() - started) / 1_000_000, String.join("; ", problems));
                    }
                    return out;
                }
            } else {
                problems.add(missing);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) break;
            // A new placement is tried at once; without one the same hosts are tried again, since a host that stalled may answer now.
            try {
                p = placement.awaitNewerThan(p.version(), Math.max(1, Math.min(left, retryInterval.toNanos()) / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for expert placement", e);
            }
        }
        throw new IllegalStateException("routed experts of layer " + layer + " did not answer within "
                + layerDeadline.toMillis() + " ms (" + tries + " tries): " + String.join("; ", problems));
    }

    private static String missingExpert(Placement p, Routing routing) {
        for (int e : routing.experts()) if (p.link(e) == null) return "expert " + e + " has no host";
        return null;
    }

    /** The batch for one host, its node, and which step rows it holds. */
    private record Sent(String node, int[] rows, DispatchBatch batch) {}

    /**
     * Sends every host its batch, then adds up the replies into a fresh result; null when some host
     * failed or refused (reasons added to problems).
     */
    private FloatMatrix exchange(long step, int layer, FloatMatrix x, Routing routing, Placement p, Set<String> problems) {
        Map<String, Sent> sent = new LinkedHashMap<>();
        boolean ok = true;
        for (var e : batches(step, layer, x, routing, p).entrySet()) {
            try {
                metrics.dispatched(e.getValue().node(), e.getValue().rows().length, links.send(e.getKey(), e.getValue().batch()));
                sent.put(e.getKey(), e.getValue());
            } catch (IOException failure) {
                problems.add("dispatch link to " + e.getValue().node() + " (" + e.getKey() + ") failed: " + failure.getMessage());
                ok = false;
            }
        }
        FloatMatrix out = FloatMatrix.zeros(x.rows(), x.cols());
        int hidden = x.cols();
        for (var e : sent.entrySet()) {
            Sent s = e.getValue();
            DispatchLinks.Reply reply = receive(e.getKey(), s, problems);
            if (reply == null) {
                ok = false;
                continue;
            }
            metrics.replied(s.node(), reply.bytes());
            switch (reply.reply()) {
                case PartialSums sums -> {
                    float[] v = sums.sums();
                    if (v.length != s.rows().length * hidden) {
                        problems.add(s.node() + " sent " + v.length + " partial sums for " + s.rows().length + " rows");
                        ok = false;
                        continue;
                    }
                    float[] d = out.data();
                    for (int i = 0; i < s.rows().length; i++) {
                        int dst = out.offset(s.rows()[i]);
                        for (int c = 0; c < hidden; c++) d[dst + c] += v[i * hidden + c];
                    }
                }
                case DispatchRefused refused -> {
                    problems.add(refused.reason());
                    ok = false;
                }
            }
        }
        return ok ? out : null;
    }

    private DispatchLinks.Reply receive(String link, Sent s, Set<String> problems) {
        try {
            return links.receive(link, s.batch());
        } catch (SocketTimeoutException e) {
            problems.add("no reply from " + s.node() + " (" + link + ") within " + replyTimeout.toMillis() + " ms");
        } catch (IOException e) {
            problems.add("dispatch link to " + s.node() + " (" + link + ") failed: " + e.getMessage());
        }
        return null;
    }

    /** One batch per destination link, in node-name order, with the step rows routed to any of that host's experts. */
    private static Map<String, Sent> batches(long step, int layer, FloatMatrix x, Routing routing, Placement p) {
        int k = routing.k();
        int hidden = x.cols();
        Map<String, List<Integer>> rows = new TreeMap<>();
        Map<String, String> nodeOfLink = new TreeMap<>();
        for (int r = 0; r < routing.rows(); r++) {
            for (int j = 0; j < k; j++) {
                int expert = routing.expert(r, j);
                nodeOfLink.put(p.link(expert), p.node(expert));
                List<Integer> list = rows.computeIfAbsent(p.link(expert), h -> new ArrayList<>());
                if (list.isEmpty() || list.getLast() != r) list.add(r);
            }
        }
        List<String> order = new ArrayList<>(rows.keySet());
        order.sort(Comparator.comparing((String link) -> nodeOfLink.get(link)).thenComparing(Comparator.naturalOrder()));
        Map<String, Sent> batches = new LinkedHashMap<>();
        for (String link : order) {
            int[] hostRows = rows.get(link).stream().mapToInt(Integer::intValue).toArray();
            float[] activations = new float[hostRows.length * hidden];
            int[] experts = new int[hostRows.length * k];
            float[] w = new float[hostRows.length * k];
            for (int i = 0; i < hostRows.length; i++) {
                int r = hostRows[i];
                System.arraycopy(x.data(), x.offset(r), activations, i * hidden, hidden);
                for (int j = 0; j < k; j++) {
                    int expert = routing.expert(r, j);
                    boolean here = link.equals(p.link(expert));
                    experts[i * k + j] = here ? expert : -1;
                    w[i * k + j] = here ? routing.weight(r, j) : 0f;
                }
            }
            batches.put(link, new Sent(nodeOfLink.get(link), hostRows,
                    new DispatchBatch(step, layer, hostRows.length, hidden, activations, k, experts, w)));
        }
        return batches;
    }

    private <T> T await(CompletableFuture<T> future, String what) {
        try {
            return future.get(sharedExpertWait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + what, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException(what + " did not answer within " + layerDeadline.toMillis() + " ms", e);
        }
    }
}
