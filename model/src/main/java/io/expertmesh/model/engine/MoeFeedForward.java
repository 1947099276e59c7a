package io.expertmesh.model.engine;

import io.expertmesh.model.kernels.FloatMatrix;

/**
 * The feed-forward half of a MoE layer once the router has chosen: for each row the weighted sum of
 * its routed experts plus the shared expert, {@code Σ_j w_j · expert_{e_j}(x) + shared(x)}. The
 * in-process implementation runs both here; the actor implementation dispatches the routed rows to
 * expert hosts while the shared-expert actor computes, and every implementation gives the same
 * numbers when all experts sit on one host.
 */
public interface MoeFeedForward {
    FloatMatrix apply(int layer, FloatMatrix x, Routing routing);

    /**
     * Whether every expert runs in this process now, so that a backend holding all experts itself
     * (a GPU) may run them without leaving the device instead of calling {@link #apply}.
     */
    default boolean allLocal() {
        return false;
    }
}
