package io.expertmesh.model.gguf;

import io.expertmesh.model.safetensors.DType;
import java.util.Arrays;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * GGML's tensor types by their id in a GGUF file (ggml.h {@code ggml_type}). All of them are named so
 * that a refusal can say which one a file uses; only those with a {@link DType} can be read.
 */
public enum GgmlType {
    F32(0, DType.F32),
    F16(1, DType.F16),
    Q4_0(2, DType.Q4_0),
    Q4_1(3, null),
    Q5_0(6, null),
    Q5_1(7, null),
    Q8_0(8, DType.Q8_0),
    Q8_1(9, null),
    Q2_K(10, null),
    Q3_K(11, null),
    Q4_K(12, DType.Q4_K),
    Q5_K(13, null),
    Q6_K(14, DType.Q6_K),
    Q8_K(15, null),
    IQ2_XXS(16, null),
    IQ2_XS(17, null),
    IQ3_XXS(18, null),
    IQ1_S(19, null),
    IQ4_NL(20, null),
    IQ3_S(21, null),
    IQ2_S(22, null),
    IQ4_XS(23, null),
    I8(24, null),
    I16(25, null),
    I32(26, null),
    I64(27, null),
    F64(28, null),
    IQ1_M(29, null),
    BF16(30, DType.BF16),
    TQ1_0(34, null),
    TQ2_0(35, null),
    MXFP4(39, null),
    NVFP4(40, null),
    Q1_0(41, null);

    private final int id;
    private final DType dtype;

    GgmlType(int id, DType dtype) {
        this.id = id;
        this.dtype = dtype;
    }

    public int id() {
        return id;
    }

    /** The element type this reads as, or null when GGML's type has no counterpart here. */
    public DType dtype() {
        return dtype;
    }

    /** The type with this id, or null when the id names none (ids 4 and 5 and 31 to 33 were retired by GGML). */
    public static GgmlType byId(long id) {
        return Arrays.stream(values()).filter(t -> t.id == id).findFirst().orElse(null);
    }

    /** The GGML type stored for {@code dtype}; an error for element types GGUF files here never hold. */
    public static GgmlType of(DType dtype) {
        Objects.requireNonNull(dtype, "dtype");
        return Arrays.stream(values()).filter(t -> t.dtype == dtype).findFirst()
                .orElseThrow(() -> new IllegalArgumentException(dtype + " cannot be written to a GGUF file; supported: " + supported()));
    }

    /** The readable types, for messages. */
    public static String supported() {
        return Arrays.stream(values()).filter(t -> t.dtype != null).map(Enum::name).collect(Collectors.joining(", "));
    }
}
