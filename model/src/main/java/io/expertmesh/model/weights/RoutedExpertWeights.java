package io.expertmesh.model.weights;

import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.safetensors.Checkpoint;
import java.util.HashMap;
import java.util.Map;

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
        Map<Integer, MlpWeights[]> byExpert = new HashMap<>();
        for (int e = 0; e < config.numExperts(); e++) byExpert.put(e, loadExpert(checkpoint, config, e));
        return of(config, byExpert);
    }

    /** One routed expert's MLP in every layer, indexed by layer (null on dense layers). */
    public static MlpWeights[] loadExpert(Checkpoint checkpoint, ErnieConfig config, int expert) {
        if (expert < 0 || expert >= config.numExperts()) {
            throw new IllegalArgumentException("expert id " + expert + " is outside [0, " + config.numExperts() + ")");
        }
        var loader = new WeightLoader(checkpoint, config);
        MlpWeights[] layers = new MlpWeights[config.numLayers()];
        for (int l = 0; l < config.numLayers(); l++) {
            if (config.isMoeLayer(l)) {
                layers[l] = loader.mlp(WeightLoader.layerPrefix(l) + "mlp.experts." + expert, config.moeIntermediateSize());
            }
        }
        return layers;
    }

    /** The given experts (expert id → per-layer weights as from {@link #loadExpert}); others are not hosted. */
    public static RoutedExpertWeights of(ErnieConfig config, Map<Integer, MlpWeights[]> byExpert) {
        MlpWeights[][] experts = new MlpWeights[config.numLayers()][];
        for (int l = 0; l < config.numLayers(); l++) {
            if (!config.isMoeLayer(l)) continue;
            experts[l] = new MlpWeights[config.numExperts()];
            for (var entry : byExpert.entrySet()) experts[l][entry.getKey()] = entry.getValue()[l];
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
