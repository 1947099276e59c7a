package io.expertmesh.model.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.expertmesh.model.TinyModel;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.weights.MlpWeights;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LocalRoutedExpertsTest {
    @Test
    void sharedExpertInTheRoutedPassesGivesTheNumbersOfRunningItSeparately() {
        try (LoadedModel model = LoadedModel.open(TinyModel.dir(), 2)) {
            var routed = new LocalRoutedExperts(model.experts(), model.model().backend());
            var rng = new SplittableRandom(5);
            for (int rows : new int[] {1, 3, 40}) {
                FloatMatrix x = FloatMatrix.zeros(rows, model.config().hiddenSize());
                for (int i = 0; i < x.data().length; i++) x.data()[i] = (float) rng.nextGaussian();
                int layer = model.config().numLayers() - 1;
                var moe = model.weights().layers().get(layer).moe();
                MlpWeights shared = moe.shared();
                assertNotNull(shared, "the tiny model's MoE layers have a shared expert");
                Routing routing = Router.route(model.model().backend(), x, moe, model.config().expertsPerToken(), model.config().moeNormMin());

                FloatMatrix separate = routed.combine(layer, x, routing);
                Mlp.addInPlace(separate, Mlp.swiglu(model.model().backend(), x, shared));
                FloatMatrix fused = routed.combine(layer, x, routing, shared);

                assertArrayEquals(separate.data(), fused.data(), 0f, rows + " rows");
            }
        }
    }
}
