package io.expertmesh.model.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.safetensors.DType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The tensor types of llama.cpp's llama_tensor_get_type for ERNIE-4.5-21B-A3B's 28 layers (tied embeddings, hidden 2560). */
class GgufFileTypeTest {
    private static final int LAYERS = 28;
    private static final long[] ATTN_V = {512, 2560};
    private static final long[] DOWN_EXPS = {64, 2560, 1536};

    private static DType type(GgufFileType t, String name, long... shape) {
        return t.tensorType(name, shape, LAYERS, true).type();
    }

    @Test
    void q4KMGivesQ6KToTiedEmbeddingsAndToAttnVAndFfnDownOfTheUseMoreBitsLayers() {
        assertEquals(DType.Q6_K, type(GgufFileType.Q4_K_M, "token_embd.weight", 103424, 2560));
        List<Integer> moreBits = new ArrayList<>();
        for (int l = 0; l < LAYERS; l++) {
            DType v = type(GgufFileType.Q4_K_M, "blk." + l + ".attn_v.weight", ATTN_V);
            assertEquals(v, type(GgufFileType.Q4_K_M, "blk." + l + ".ffn_down_exps.weight", DOWN_EXPS), "layer " + l);
            assertEquals(v, type(GgufFileType.Q4_K_M, "blk." + l + ".ffn_down_shexp.weight", 2560, 3072), "layer " + l);
            if (v == DType.Q6_K) moreBits.add(l);
            else assertEquals(DType.Q4_K, v);
            assertEquals(DType.Q4_K, type(GgufFileType.Q4_K_M, "blk." + l + ".attn_q.weight", 2560, 2560));
            assertEquals(DType.Q4_K, type(GgufFileType.Q4_K_M, "blk." + l + ".ffn_up_exps.weight", 64, 1536, 2560));
        }
        // n/8 = 3 and 7n/8 = 24: layers 0-2, 24-27, and every third from 5.
        assertEquals(List.of(0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27), moreBits);
    }

    @Test
    void q4_0GivesQ6KToTheOutputAndQ4_0ToTheRest() {
        assertEquals(DType.Q6_K, type(GgufFileType.Q4_0, "token_embd.weight", 103424, 2560));
        assertEquals(DType.Q4_0, GgufFileType.Q4_0.tensorType("token_embd.weight", new long[] {103424, 2560}, LAYERS, false).type());
        assertEquals(DType.Q6_K, GgufFileType.Q4_0.tensorType("output.weight", new long[] {103424, 2560}, LAYERS, false).type());
        assertEquals(DType.Q4_0, type(GgufFileType.Q4_0, "blk.0.attn_v.weight", ATTN_V));
        assertEquals(DType.Q4_0, type(GgufFileType.Q4_0, "blk.3.ffn_down_exps.weight", DOWN_EXPS));
    }

    @Test
    void q8_0QuantizesEveryMatrixToQ8_0() {
        assertEquals(DType.Q8_0, type(GgufFileType.Q8_0, "token_embd.weight", 103424, 2560));
        assertEquals(DType.Q8_0, type(GgufFileType.Q8_0, "blk.0.attn_v.weight", ATTN_V));
        assertEquals(DType.Q8_0, type(GgufFileType.Q8_0, "blk.27.ffn_down_exps.weight", DOWN_EXPS));
    }

    @Test
    void normsVectorsAndTheRouterStayF32() {
        for (GgufFileType t : GgufFileType.values()) {
            assertEquals(DType.F32, type(t, "output_norm.weight", 2560));
            assertEquals(DType.F32, type(t, "blk.1.attn_norm.weight", 2560));
            assertEquals(DType.F32, type(t, "blk.1.ffn_gate_inp.weight", 64, 2560));
            assertEquals(DType.F32, type(t, "blk.1.exp_probs_b.bias", 64));
        }
    }

    @Test
    void rowsNotAMultipleOfTheBlockFallBack() {
        var q4k = GgufFileType.Q4_K_M.tensorType("blk.1.attn_q.weight", new long[] {160, 128}, 4, true);
        assertEquals(DType.Q8_0, q4k.type(), "llama.cpp writes Q5_0, which is not implemented here");
        assertTrue(q4k.fellBack());
        assertEquals(DType.Q8_0, GgufFileType.Q4_K_M.tensorType("token_embd.weight", new long[] {4096, 128}, 4, true).type());
        var q6k = GgufFileType.Q4_0.tensorType("token_embd.weight", new long[] {4096, 128}, 4, true);
        assertEquals(DType.Q8_0, q6k.type());
        assertTrue(q6k.fellBack());
        assertEquals(DType.F16, GgufFileType.Q4_0.tensorType("blk.0.attn_q.weight", new long[] {8, 48}, 4, true).type());
        assertFalse(GgufFileType.Q4_0.tensorType("blk.0.attn_q.weight", new long[] {8, 64}, 4, true).fellBack());
    }

    @Test
    void anUnknownTypeNameIsRefusedListingTheAcceptedOnes() {
        assertEquals(GgufFileType.Q4_K_M, GgufFileType.parse("Q4_K_M"));
        var e = assertThrows(IllegalArgumentException.class, () -> GgufFileType.parse("q5_k_m"));
        assertEquals("unknown quantization type 'q5_k_m'; accepted: q8_0, q4_0, q4_k_m", e.getMessage());
    }
}
