package io.expertmesh.model.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.TinyModel;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.safetensors.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** The CPU forward pass against transformers' float32 outputs for the bundled tiny checkpoint. */
class ErnieModelReferenceTest {
    private static final float LOGIT_TOLERANCE = 1e-3f;

    private static LoadedModel model;
    private static JsonNode reference;
    private static Map<String, Tensor> tensors;

    @BeforeAll
    static void load() {
        model = LoadedModel.open(TinyModel.dir(), 2);
        reference = TinyModel.referenceJson();
        tensors = TinyModel.referenceTensors();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @TestFactory
    List<DynamicTest> logitsMatchTransformersAtEveryStoredPosition() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : reference.get("cases")) {
            tests.add(DynamicTest.dynamicTest(c.get("name").asText(), () -> {
                int[] ids = TinyModel.ints(c.get("input_ids"));
                int[] positions = tensors.get(c.get("positions_tensor").asText()).toIntArray();
                Tensor expected = tensors.get(c.get("logits_tensor").asText());
                FloatMatrix hidden = model.model().forward(
                        List.of(new SequenceChunk(new SequenceKvCache(model.config()), 0, ids)), ForwardTrace.NONE);
                FloatMatrix logits = model.model().logits(hidden, positions);
                int vocab = model.config().vocabSize();
                float worst = 0;
                for (int i = 0; i < positions.length; i++) {
                    for (int t = 0; t < vocab; t++) {
                        worst = Math.max(worst, Math.abs(logits.get(i, t) - expected.getFloat((long) i * vocab + t)));
                    }
                }
                assertTrue(worst <= LOGIT_TOLERANCE, c.get("name").asText() + ": max |Δlogit| = " + worst);
            }));
        }
        return tests;
    }

    @TestFactory
    List<DynamicTest> greedyDecodingReproducesTransformersIdsForAll24Steps() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : reference.get("cases")) {
            tests.add(DynamicTest.dynamicTest(c.get("name").asText(), () -> {
                int[] prompt = TinyModel.ints(c.get("input_ids"));
                int[] expected = TinyModel.ints(c.get("greedy_new_ids"));
                var cache = new SequenceKvCache(model.config());
                int[] got = new int[expected.length];
                FloatMatrix hidden = model.model().forward(List.of(new SequenceChunk(cache, 0, prompt)), ForwardTrace.NONE);
                int next = argmax(model.model().logits(hidden, new int[] {prompt.length - 1}));
                for (int step = 0; step < expected.length; step++) {
                    got[step] = next;
                    hidden = model.model().forward(
                            List.of(new SequenceChunk(cache, prompt.length + step, new int[] {next})), ForwardTrace.NONE);
                    next = argmax(model.model().logits(hidden, new int[] {0}));
                }
                assertArrayEquals(expected, got, c.get("name").asText());
            }));
        }
        return tests;
    }

    @Test
    void routerChoicesAndWeightsOfChat0MatchTransformers() {
        int[] ids = TinyModel.ints(reference.get("cases").get(0).get("input_ids"));
        Map<Integer, Routing> routings = new HashMap<>();
        model.model().forward(List.of(new SequenceChunk(new SequenceKvCache(model.config()), 0, ids)), new ForwardTrace() {
            @Override
            public void routing(int layer, Routing routing) {
                routings.put(layer, routing);
            }
        });
        int checked = 0;
        for (int layer = 0; layer < model.config().numLayers(); layer++) {
            Tensor selected = tensors.get("debug.router_selected.layer" + layer);
            if (selected == null) continue;
            Tensor weights = tensors.get("debug.router_weights.layer" + layer);
            Routing r = routings.get(layer);
            assertArrayEquals(selected.toIntArray(), r.experts(), "experts of layer " + layer);
            float[] w = weights.toFloatArray();
            for (int i = 0; i < w.length; i++) assertEquals(w[i], r.weights()[i], 1e-5, "weight " + i + " of layer " + layer);
            checked++;
        }
        assertEquals(model.config().numMoeLayers(), checked);
    }

    @Test
    void hiddenStatesOfEveryLayerMatchTransformersWithinRelative1e3() {
        int[] ids = TinyModel.ints(reference.get("cases").get(0).get("input_ids"));
        Map<Integer, float[]> states = new HashMap<>();
        int last = model.config().numLayers();
        model.model().forward(List.of(new SequenceChunk(new SequenceKvCache(model.config()), 0, ids)), new ForwardTrace() {
            @Override
            public void hiddenState(int index, FloatMatrix hidden) {
                if (index < last) states.put(index, hidden.data().clone());
            }

            @Override
            public void finalNorm(FloatMatrix hidden) {
                states.put(last, hidden.data().clone());
            }
        });
        for (int i = 0; i <= last; i++) {
            float[] expected = tensors.get("debug.hidden_states." + i).toFloatArray();
            float[] got = states.get(i);
            double num = 0, den = 0;
            for (int j = 0; j < expected.length; j++) {
                num = Math.max(num, Math.abs(got[j] - expected[j]));
                den = Math.max(den, Math.abs(expected[j]));
            }
            assertTrue(num / den <= 1e-3, "hidden state " + i + ": max error relative to max magnitude = " + num / den);
        }
    }

    @Test
    void prefillThenDecodeEqualsFullRecomputeFor257Tokens() {
        JsonNode c = null;
        for (JsonNode n : reference.get("cases")) if (n.get("name").asText().equals("random257")) c = n;
        int[] ids = TinyModel.ints(c.get("input_ids"));
        int split = 200;
        var cache = new SequenceKvCache(model.config());
        model.model().forward(List.of(new SequenceChunk(cache, 0, java.util.Arrays.copyOf(ids, split))), ForwardTrace.NONE);
        FloatMatrix incremental = null;
        for (int p = split; p < ids.length; p++) {
            FloatMatrix hidden = model.model().forward(List.of(new SequenceChunk(cache, p, new int[] {ids[p]})), ForwardTrace.NONE);
            incremental = model.model().logits(hidden, new int[] {0});
        }
        FloatMatrix full = model.model().forward(
                List.of(new SequenceChunk(new SequenceKvCache(model.config()), 0, ids)), ForwardTrace.NONE);
        FloatMatrix recomputed = model.model().logits(full, new int[] {ids.length - 1});
        for (int t = 0; t < model.config().vocabSize(); t++) {
            assertEquals(recomputed.get(0, t), incremental.get(0, t), 1e-4, "logit " + t);
        }
    }

    static int argmax(FloatMatrix logits) {
        int best = 0;
        for (int t = 1; t < logits.cols(); t++) if (logits.get(0, t) > logits.get(0, best)) best = t;
        return best;
    }
}
