package io.expertmesh.model.engine;

import io.expertmesh.model.kernels.FloatMatrix;

/**
 * Where the routed experts of a MoE layer run. Given the normed hidden rows and the router's
 * choice, returns for each row {@code Σ_j w_j · expert_{e_j}(x)}, accumulated in fp32 in ascending
 * expert id. The local implementation runs them in-process; a distributed one sends each expert
 * node the rows routed to it and adds the partial sums it returns.
 */
public interface RoutedExperts {
    FloatMatrix combine(int layer, FloatMatrix x, Routing routing);
}
