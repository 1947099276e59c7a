package io.expertmesh.model.engine;

import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.weights.MlpWeights;
import io.expertmesh.model.weights.RoutedExpertWeights;
import java.util.Map;
import java.util.TreeMap;

/** Hosted experts computed in this process by {@link LocalRoutedExperts} on a kernel backend. */
public final class LocalExpertStore implements ExpertStore {
    private final ErnieConfig config;
    private final KernelBackend backend;
    private final Map<Integer, MlpWeights[]> hosted = new TreeMap<>();
    private LocalRoutedExperts experts;

    public LocalExpertStore(ErnieConfig config, KernelBackend backend) {
        this.config = config;
        this.backend = backend;
        rebuild();
    }

    @Override
    public void add(int expert, MlpWeights[] layers) {
        hosted.put(expert, layers);
        rebuild();
    }

    @Override
    public void remove(int expert) {
        hosted.remove(expert);
        rebuild();
    }

    @Override
    public FloatMatrix combine(int layer, FloatMatrix x, Routing routing) {
        return experts.combine(layer, x, routing);
    }

    private void rebuild() {
        experts = new LocalRoutedExperts(RoutedExpertWeights.of(config, Map.copyOf(hosted)), backend);
    }
}
