package io.expertmesh.model.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.TinyModel;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.kernels.CpuBackend;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.weights.AttentionWeights;
import io.expertmesh.model.weights.ErnieWeights;
import io.expertmesh.model.weights.LayerWeights;
import io.expertmesh.model.weights.Linear;
import io.expertmesh.model.weights.MlpWeights;
import io.expertmesh.model.weights.MoeWeights;
import io.expertmesh.model.weights.Quantize;
import io.expertmesh.model.weights.RoutedExpertWeights;
import io.expertmesh.model.weights.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The tiny checkpoint with every weight matrix quantized to Q8_0 in memory: its forward pass (the
 * quantized kernels, decode and prefill) against the fp32 forward pass over the same weights
 * dequantized, which runs the plain fp32 kernels.
 */
class QuantizedForwardTest {
    private static final float LOGIT_TOLERANCE = 1e-3f;

    @Test
    void q8_0LogitsMatchTheFp32ForwardOverTheDequantizedWeightsWithin1e3() {
        Arena arena = Arena.ofAuto();
        try (LoadedModel bf16 = LoadedModel.open(TinyModel.dir(), 2); KernelBackend backend = new CpuBackend(2)) {
            UnaryOperator<WeightMatrix> toQ8 = memoized(w -> Quantize.matrix(w, DType.Q8_0, arena));
            UnaryOperator<WeightMatrix> toF32 = memoized(w -> dequantized(toQ8.apply(w), arena));
            ErnieModel quantized = model(bf16, toQ8, backend);
            ErnieModel reference = model(bf16, toF32, backend);
            assertEquals(DType.Q8_0, toQ8.apply(bf16.weights().lmHead().weight()).dtype());
            JsonNode cases = TinyModel.referenceJson().get("cases");
            int checked = 0;
            for (JsonNode c : cases) {
                int[] ids = TinyModel.ints(c.get("input_ids"));
                float worst = Math.max(worstPrefillDifference(quantized, reference, ids), worstDecodeDifference(quantized, reference, ids));
                assertTrue(worst <= LOGIT_TOLERANCE, c.get("name").asText() + ": max |Δlogit| = " + worst);
                checked++;
            }
            assertTrue(checked > 0);
        }
    }

    /** Logits of every prompt position, one prefill pass. */
    static float worstPrefillDifference(ErnieModel a, ErnieModel b, int[] ids) {
        int[] all = new int[ids.length];
        for (int i = 0; i < all.length; i++) all[i] = i;
        return worst(logitsOfPrefill(a, ids, all), logitsOfPrefill(b, ids, all));
    }

    private static FloatMatrix logitsOfPrefill(ErnieModel m, int[] ids, int[] rows) {
        FloatMatrix hidden = m.forward(List.of(new SequenceChunk(new SequenceKvCache(m.config()), 0, ids)), ForwardTrace.NONE);
        return m.logits(hidden, rows);
    }

    /** Logits of the last few prompt tokens fed one at a time, so the streaming kernels run. */
    static float worstDecodeDifference(ErnieModel a, ErnieModel b, int[] ids) {
        int split = Math.max(1, ids.length - 4);
        var cacheA = new SequenceKvCache(a.config());
        var cacheB = new SequenceKvCache(b.config());
        int[] prefix = Arrays.copyOf(ids, split);
        a.forward(List.of(new SequenceChunk(cacheA, 0, prefix)), ForwardTrace.NONE);
        b.forward(List.of(new SequenceChunk(cacheB, 0, prefix)), ForwardTrace.NONE);
        float worst = 0;
        for (int p = split; p < ids.length; p++) {
            int[] token = {ids[p]};
            FloatMatrix la = a.logits(a.forward(List.of(new SequenceChunk(cacheA, p, token)), ForwardTrace.NONE), new int[] {0});
            FloatMatrix lb = b.logits(b.forward(List.of(new SequenceChunk(cacheB, p, token)), ForwardTrace.NONE), new int[] {0});
            worst = Math.max(worst, worst(la, lb));
        }
        return worst;
    }

    private static float worst(FloatMatrix a, FloatMatrix b) {
        float worst = 0;
        for (int i = 0; i < a.rows() * a.cols(); i++) worst = Math.max(worst, Math.abs(a.data()[i] - b.data()[i]));
        return worst;
    }

    /** The same function of each matrix object, so tied embeddings stay one matrix. */
    static UnaryOperator<WeightMatrix> memoized(UnaryOperator<WeightMatrix> f) {
        Map<WeightMatrix, WeightMatrix> done = new IdentityHashMap<>();
        return w -> done.computeIfAbsent(w, f);
    }

    static WeightMatrix dequantized(WeightMatrix q, Arena arena) {
        MemorySegment data = arena.allocate(4L * q.rows() * q.cols());
        float[] row = new float[q.cols()];
        for (int r = 0; r < q.rows(); r++) {
            q.readRow(r, row, 0);
            MemorySegment.copy(row, 0, data, ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * r * q.cols(), q.cols());
        }
        return new WeightMatrix(q.name(), DType.F32, q.rows(), q.cols(), data);
    }

    /** An ErnieModel over the checkpoint's weights with every matrix replaced by {@code f} of it. */
    static ErnieModel model(LoadedModel m, UnaryOperator<WeightMatrix> f, KernelBackend backend) {
        ErnieConfig config = m.config();
        ErnieWeights w = m.weights();
        List<LayerWeights> layers = new ArrayList<>();
        for (LayerWeights l : w.layers()) {
            AttentionWeights a = l.attention();
            var attention = new AttentionWeights(linear(a.q(), f), linear(a.k(), f), linear(a.v(), f), linear(a.o(), f));
            MoeWeights moe = l.moe() == null ? null
                    : new MoeWeights(l.moe().router(), l.moe().correctionBias(), mlp(l.moe().shared(), f));
            layers.add(new LayerWeights(l.inputNorm(), l.postAttentionNorm(), attention, mlp(l.denseMlp(), f), moe));
        }
        var weights = new ErnieWeights(config, f.apply(w.embeddings()), layers, w.finalNorm(), linear(w.lmHead(), f));
        Map<Integer, MlpWeights[]> byExpert = new HashMap<>();
        for (int e = 0; e < config.numExperts(); e++) {
            MlpWeights[] perLayer = new MlpWeights[config.numLayers()];
            for (int l = 0; l < config.numLayers(); l++) if (config.isMoeLayer(l)) perLayer[l] = mlp(m.experts().expert(l, e), f);
            byExpert.put(e, perLayer);
        }
        var experts = RoutedExpertWeights.of(config, byExpert);
        return new ErnieModel(weights, new LocalMoeFeedForward(new LocalRoutedExperts(experts, backend), weights), backend);
    }

    private static MlpWeights mlp(MlpWeights m, UnaryOperator<WeightMatrix> f) {
        return m == null ? null : new MlpWeights(linear(m.gate(), f), linear(m.up(), f), linear(m.down(), f));
    }

    private static Linear linear(Linear l, UnaryOperator<WeightMatrix> f) {
        return new Linear(f.apply(l.weight()), l.bias());
    }
}
