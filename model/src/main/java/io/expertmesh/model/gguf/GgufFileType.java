package io.expertmesh.model.gguf;

import io.expertmesh.model.safetensors.DType;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The quantized file types {@code mesh quantize} writes, and the type each tensor gets in them: a port
 * of llama.cpp's {@code llama_tensor_get_type} (src/llama-quant.cpp) for an {@code ernie4_5-moe}
 * model, which has 64 experts (so none of the 8-expert rules apply) and no fused QKV.
 *
 * <ul>
 *   <li>Not quantized, as in llama.cpp's {@code tensor_allows_quantization}: 1-D tensors, names not
 *       ending in {@code weight}, {@code *_norm.weight} and the router {@code ffn_gate_inp.weight}. They are
 *       written F32, as llama.cpp's converter writes them before quantizing.</li>
 *   <li>{@code output.weight}, or {@code token_embd.weight} when the embeddings are tied (no
 *       {@code output.weight}): Q6_K unless the file type's own type is Q8_0; Q8_0 when a row is not
 *       a multiple of the default type's block.</li>
 *   <li>Q4_K_M: {@code attn_v} of the layers {@link #useMoreBits} picks (counted over the file's
 *       attn_v tensors, one per layer) and every {@code ffn_down*} of those layers (the layer taken
 *       from the name, as llama.cpp does for MoE models) are Q6_K; the rest Q4_K.</li>
 *   <li>Fallback when a row is not a multiple of the chosen type's block: Q6_K becomes Q8_0 as in
 *       llama.cpp; Q4_K becomes Q8_0 where llama.cpp writes Q5_0, a type not implemented here (Q8_0
 *       keeps at least Q5_0's precision); a row not a multiple of 32 becomes F16, as in llama.cpp for
 *       K-quants (llama.cpp refuses a Q8_0 or Q4_0 file then).</li>
 * </ul>
 */
public enum GgufFileType {
    Q8_0(7, DType.Q8_0),
    Q4_0(2, DType.Q4_0),
    Q4_K_M(15, DType.Q4_K);

    private final int llamaFileType;
    private final DType defaultType;

    GgufFileType(int llamaFileType, DType defaultType) {
        this.llamaFileType = llamaFileType;
        this.defaultType = defaultType;
    }

    /** llama.cpp's {@code llama_ftype} number, the value of {@code general.file_type}. */
    public int llamaFileType() {
        return llamaFileType;
    }

    /** The name on the command line: {@code q8_0}, {@code q4_0}, {@code q4_k_m}. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The file type named {@code name} (any case), or an error listing the accepted names. */
    public static GgufFileType parse(String name) {
        return Arrays.stream(values()).filter(t -> t.cliName().equalsIgnoreCase(name.trim())).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown quantization type '" + name + "'; accepted: " + accepted()));
    }

    public static String accepted() {
        return Arrays.stream(values()).map(GgufFileType::cliName).collect(Collectors.joining(", "));
    }

    /** The type chosen for one tensor, and whether its row length forced a fallback from the type the rules chose. */
    public record TensorType(DType type, boolean fellBack) {}

    /**
     * The type of tensor {@code name} (GGUF name) of {@code shape} (outermost first) in a file of this
     * type, for a model of {@code layers} layers whose embeddings are {@code tied} to the output.
     */
    public TensorType tensorType(String name, long[] shape, int layers, boolean tied) {
        if (!quantizable(name, shape)) return new TensorType(DType.F32, false);
        long rowLength = shape[shape.length - 1];
        DType chosen = defaultType;
        boolean output = name.equals("output.weight") || tied && name.equals("token_embd.weight");
        if (output) {
            if (rowLength % defaultType.blockElements() != 0) chosen = DType.Q8_0;
            else if (defaultType != DType.Q8_0) chosen = DType.Q6_K;
        } else if (this == Q4_K_M && name.contains("attn_v.weight") && useMoreBits(layer(name, layers), layers)) {
            chosen = DType.Q6_K;
        } else if (this == Q4_K_M && name.contains("ffn_down") && useMoreBits(layer(name, layers), layers)) {
            chosen = DType.Q6_K;
        }
        return fallback(chosen, rowLength);
    }

    /** llama.cpp's {@code tensor_allows_quantization}, for the tensors an ERNIE-4.5 MoE file has. */
    static boolean quantizable(String name, long[] shape) {
        return shape.length >= 2 && name.endsWith("weight") && !name.contains("_norm.weight") && !name.contains("ffn_gate_inp.weight");
    }

    /** llama.cpp's {@code use_more_bits}: the first and last eighth of the layers, and every third one between. */
    static boolean useMoreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    private static int layer(String name, int layers) {
        if (!name.startsWith("blk.")) throw new IllegalArgumentException("cannot tell the layer of tensor " + name);
        int layer = Integer.parseInt(name.substring(4, name.indexOf('.', 4)));
        if (layer >= layers) throw new IllegalArgumentException("tensor " + name + " is of layer " + layer + ", but the model has " + layers);
        return layer;
    }

    /**
     * llama.cpp's {@code tensor_type_fallback}, with Q8_0 for its Q5_0, and F16 for a row of Q8_0 or Q4_0
     * that is not a multiple of 32 (llama.cpp refuses to quantize such a tensor).
     */
    private static TensorType fallback(DType chosen, long rowLength) {
        if (rowLength % chosen.blockElements() == 0) return new TensorType(chosen, false);
        boolean kQuant = chosen == DType.Q4_K || chosen == DType.Q6_K;
        return new TensorType(kQuant && rowLength % DType.Q8_0.blockElements() == 0 ? DType.Q8_0 : DType.F16, true);
    }
}
