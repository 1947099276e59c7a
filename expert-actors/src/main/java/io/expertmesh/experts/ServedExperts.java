package io.expertmesh.experts;

import io.expertmesh.model.engine.ExpertStore;
import io.expertmesh.model.engine.Routing;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.weights.MlpWeights;
import io.expertmesh.protocol.DispatchBatch;
import io.expertmesh.protocol.DispatchRefused;
import io.expertmesh.protocol.DispatchReply;
import io.expertmesh.protocol.PartialSums;
import java.util.HashSet;
import java.util.Set;

/**
 * The routed experts a node serves and the store (CPU or GPU) they run in. The {@link ExpertHost}
 * actor adds and removes experts as their entities start and stop; the dispatch link's connection
 * threads run batches on them. One lock covers both, so a batch never meets an expert half added or
 * removed, and the store (whose buffers are not thread-safe) runs one batch at a time.
 */
final class ServedExperts {
    private final ExpertStore store;
    private final String node;
    private final Set<Integer> hosted = new HashSet<>();

    ServedExperts(ExpertStore store, String node) {
        this.store = store;
        this.node = node;
    }

    String node() {
        return node;
    }

    synchronized void add(int expert, MlpWeights[] weights) {
        store.add(expert, weights);
        hosted.add(expert);
    }

    synchronized void remove(int expert) {
        store.remove(expert);
        hosted.remove(expert);
    }

    /** Runs the batch's rows through this node's experts: the weighted sums per row, or a refusal naming an expert not served here. */
    synchronized DispatchReply answer(DispatchBatch b) {
        for (int e : b.experts()) {
            if (e >= 0 && !hosted.contains(e)) {
                return new DispatchRefused(b.step(), b.layer(), node, "expert " + e + " is not hosted on " + node);
            }
        }
        FloatMatrix x = new FloatMatrix(b.rows(), b.hidden(), b.activations());
        float[] sums = store.combine(b.layer(), x, new Routing(b.rows(), b.k(), b.experts(), b.weights())).data();
        return new PartialSums(b.step(), b.layer(), sums);
    }
}
