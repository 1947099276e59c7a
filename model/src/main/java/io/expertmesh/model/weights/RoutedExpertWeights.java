package io.expertmesh.model.weights;

import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.safetensors.Checkpoint;

/**
 * Routed expert MLPs indexed by [layer][expert id]; null for dense layers and for experts not
 * hosted here. Views into the mapped checkpoint: holding them costs no heap.
 */
public final class RoutedExpertWeights {
    private final int numExperts;
    private final MlpWeights[][] experts;

    private RoutedExpertWeights(int numExperts, MlpWeights[][] experts) {
        this.numExperts = numExperts;
        this.experts = experts;
    }

    /** Every routed expert of every MoE layer. */
    public static RoutedExpertWeights loadAll(Checkpoint checkpoint, ErnieConfig config) {
        var loader = new WeightLoader(checkpoint, config);
        MlpWeights[][] experts = new MlpWeights[config.numLayers()][];
        for (int l = 0; l < config.numLayers(); l++) {
            if (!config.isMoeLayer(l)) continue;
            experts[l] = new MlpWeights[config.numExperts()];
            for (int e = 0; e < config.numExperts(); e++) {
                experts[l][e] = loader.mlp(WeightLoader.layerPrefix(l) + "mlp.experts." + e, config.moeIntermediateSize());
            }
        }
        return new RoutedExpertWeights(config.numExperts(), experts);
    }

    public int numExperts() {
        return numExperts;
    }

    public MlpWeights expert(int layer, int expert) {
        MlpWeights w = experts[layer] == null ? null : experts[layer][expert];
        if (w == null) throw new IllegalStateException("expert " + expert + " of layer " + layer + " is not hosted here");
        return w;
    }
}
