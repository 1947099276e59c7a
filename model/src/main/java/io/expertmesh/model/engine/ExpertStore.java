package io.expertmesh.model.engine;

import io.expertmesh.model.weights.MlpWeights;

/**
 * The routed experts an expert host serves, as its entities start and stop: each arrives with its
 * MLP for every layer (null on dense layers) and runs where the store keeps it — in this process
 * ({@link LocalExpertStore}) or on a GPU.
 */
public interface ExpertStore extends RoutedExperts {
    void add(int expert, MlpWeights[] layers);

    void remove(int expert);
}
