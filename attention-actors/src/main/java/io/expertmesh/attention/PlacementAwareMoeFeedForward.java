package io.expertmesh.attention;

import io.expertmesh.experts.Placement;
import io.expertmesh.experts.PlacementView;
import io.expertmesh.model.engine.MoeFeedForward;
import io.expertmesh.model.engine.Routing;
import io.expertmesh.model.kernels.FloatMatrix;

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

    /** {@code local} may be null (this node hosts no experts, or the fast path is off). */
    public PlacementAwareMoeFeedForward(MoeFeedForward local, MoeFeedForward dispatched, PlacementView placement, String localNode) {
        this.local = local;
        this.dispatched = dispatched;
        this.placement = placement;
        this.localNode = localNode;
    }

    @Override
    public FloatMatrix apply(int layer, FloatMatrix x, Routing routing) {
        return local != null && allHere(placement.current()) ? local.apply(layer, x, routing) : dispatched.apply(layer, x, routing);
    }

    private boolean allHere(Placement p) {
        for (int e = 0; e < p.experts(); e++) if (!localNode.equals(p.node(e))) return false;
        return true;
    }
}
