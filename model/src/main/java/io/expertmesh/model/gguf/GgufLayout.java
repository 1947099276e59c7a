package io.expertmesh.model.gguf;

import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.safetensors.DType;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The tensors of an {@code ernie4_5-moe} GGUF file for a model config, in the order and with the names
 * and shapes {@code scripts/llamacpp/to_gguf.py} writes (llama.cpp's tensor names; the routed experts
 * of a layer stacked into one [experts, rows, cols] tensor per projection; the selection bias flat),
 * each with the type a {@link GgufFileType} gives it and the Hugging Face tensors it is made of.
 */
public record GgufLayout(ErnieConfig config, GgufFileType fileType, List<PlannedTensor> tensors) {
    public GgufLayout {
        tensors = List.copyOf(tensors);
    }

    /**
     * One tensor of the file: its GGUF name, shape (outermost first), type, and the Hugging Face tensors
     * whose rows it holds, one after the other (several for stacked experts).
     */
    public record PlannedTensor(String name, long[] shape, GgufFileType.TensorType type, List<String> sources) {
        public PlannedTensor {
            shape = shape.clone();
            sources = List.copyOf(sources);
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        public DType dtype() {
            return type.type();
        }

        public long elements() {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        }

        public GgufWriter.Entry entry() {
            return new GgufWriter.Entry(name, dtype(), shape);
        }
    }

    public static GgufLayout of(ErnieConfig c, GgufFileType fileType) {
        var plan = new Planner(c, fileType);
        int h = c.hiddenSize();
        plan.add("token_embd.weight", c.vocabSize(), h);
        plan.add("output_norm.weight", h);
        if (!c.tieWordEmbeddings()) plan.add("output.weight", c.vocabSize(), h);
        for (int l = 0; l < c.numLayers(); l++) {
            String blk = "blk." + l + ".";
            plan.add(blk + "attn_norm.weight", h);
            plan.add(blk + "ffn_norm.weight", h);
            plan.add(blk + "attn_q.weight", c.queryDim(), h);
            plan.add(blk + "attn_k.weight", c.kvDim(), h);
            plan.add(blk + "attn_v.weight", c.kvDim(), h);
            plan.add(blk + "attn_output.weight", h, c.queryDim());
            if (!c.isMoeLayer(l)) {
                plan.add(blk + "ffn_gate.weight", c.intermediateSize(), h);
                plan.add(blk + "ffn_up.weight", c.intermediateSize(), h);
                plan.add(blk + "ffn_down.weight", h, c.intermediateSize());
                continue;
            }
            plan.add(blk + "ffn_gate_inp.weight", c.numExperts(), h);
            plan.add(blk + "exp_probs_b.bias", c.numExperts());
            for (String m : List.of("gate", "up", "down")) {
                boolean down = m.equals("down");
                plan.experts(l, "ffn_" + m + "_exps.weight", down ? h : c.moeIntermediateSize(), down ? c.moeIntermediateSize() : h);
                if (c.numSharedExperts() > 0) {
                    int shared = c.sharedIntermediateSize();
                    plan.add(blk + "ffn_" + m + "_shexp.weight", down ? h : shared, down ? shared : h);
                }
            }
        }
        return new GgufLayout(c, fileType, plan.tensors);
    }

    public List<GgufWriter.Entry> entries() {
        return tensors.stream().map(PlannedTensor::entry).toList();
    }

    public long elements() {
        return tensors.stream().mapToLong(PlannedTensor::elements).sum();
    }

    /** Tensor count per type, in the order of {@link DType}. */
    public Map<DType, Long> countByType() {
        var counts = new EnumMap<DType, Long>(DType.class);
        for (PlannedTensor t : tensors) counts.merge(t.dtype(), 1L, Long::sum);
        return counts;
    }

    private static final class Planner {
        private final ErnieConfig config;
        private final GgufFileType fileType;
        private final List<PlannedTensor> tensors = new ArrayList<>();

        Planner(ErnieConfig config, GgufFileType fileType) {
            this.config = config;
            this.fileType = fileType;
        }

        void add(String name, long... shape) {
            tensors.add(planned(name, shape, List.of(huggingFaceName(name))));
        }

        void experts(int layer, String key, long rows, long cols) {
            String prefix = "model.layers." + layer + ".mlp.experts.";
            List<String> sources = new ArrayList<>();
            for (int e = 0; e < config.numExperts(); e++) sources.add(prefix + e + "." + GgufCheckpoint.STACKED_EXPERTS.get(key));
            tensors.add(planned("blk." + layer + "." + key, new long[] {config.numExperts(), rows, cols}, sources));
        }

        private PlannedTensor planned(String name, long[] shape, List<String> sources) {
            return new PlannedTensor(name, shape, fileType.tensorType(name, shape, config.numLayers(), config.tieWordEmbeddings()), sources);
        }

        private static String huggingFaceName(String ggufName) {
            String global = GgufCheckpoint.GLOBAL.get(ggufName);
            if (global != null) return global;
            int dot = ggufName.indexOf('.', 4);
            return "model.layers." + ggufName.substring(4, dot) + "." + GgufCheckpoint.LAYER.get(ggufName.substring(dot + 1));
        }
    }
}
