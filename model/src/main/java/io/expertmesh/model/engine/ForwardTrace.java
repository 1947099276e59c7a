package io.expertmesh.model.engine;

import io.expertmesh.model.kernels.FloatMatrix;

/**
 * Observes intermediate values of a forward pass, numbered as transformers' hidden_states:
 * 0 = embeddings, l + 1 = output of decoder layer l, and the final norm's output.
 */
public interface ForwardTrace {
    ForwardTrace NONE = new ForwardTrace() {};

    default void hiddenState(int index, FloatMatrix hidden) {}

    default void routing(int layer, Routing routing) {}

    default void finalNorm(FloatMatrix hidden) {}
}
