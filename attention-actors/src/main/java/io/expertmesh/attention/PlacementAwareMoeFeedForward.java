package io.expertmesh.attention;

import io.expertmesh.model.engine.MoeFeedForward;
import io.expertmesh.model.engine.Routing;
import io.expertmesh.model.kernels.FloatMatrix;
import java.util.function.LongConsumer;

/**
 * Chooses per MoE layer between the in-process experts (when the current placement puts every
 * expert on this node: one message per step, no per-layer hops) and the dispatch through the expert
 * hosts (when some expert lives elsewhere). Both give the same numbers on one host.
 */
public final class PlacementAwareMoeFeedForward implements MoeFeedForward {
    private final MoeFeedForward local;
    private final MoeFeedForward dispatched;
    private final PlacementView placement;
    private final String localNode;
    private final LongConsumer layerNanos;

    /**
     * {@code local} may be null (this node hosts no experts, or the fast path is off); every layer's
     * time, either way, goes to {@code layerNanos}, so one node and a cluster can be compared.
     */
    public PlacementAwareMoeFeedForward(MoeFeedForward local, MoeFeedForward dispatched, PlacementView placement, String localNode,
                                        LongConsumer layerNanos) {
        this.local = local;
        this.dispatched = dispatched;
        this.placement = placement;
        this.localNode = localNode;
        this.layerNanos = layerNanos;
    }

    @Override
    public FloatMatrix apply(int layer, FloatMatrix x, Routing routing) {
        long start = System.nanoTime();
        FloatMatrix out = allLocal() ? local.apply(layer, x, routing) : dispatched.apply(layer, x, routing);
        layerNanos.accept(System.nanoTime() - start);
        return out;
    }

    @Override
    public boolean allLocal() {
        return local != null && allHere(placement.current());
    }

    private boolean allHere(Placement p) {
        for (int e = 0; e < p.experts(); e++) if (!localNode.equals(p.node(e))) return false;
        return true;
    }
}
