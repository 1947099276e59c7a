package io.expertmesh.model.safetensors;

import java.util.Arrays;

/** Element types a safetensors header may name; only the floating-point ones hold weights. */
public enum DType {
    BF16(2, true),
    F16(2, true),
    F32(4, true),
    F64(8, false),
    I8(1, false),
    U8(1, false),
    I16(2, false),
    I32(4, false),
    I64(8, false),
    BOOL(1, false);

    private final int bytes;
    private final boolean floatingWeight;

    DType(int bytes, boolean floatingWeight) {
        this.bytes = bytes;
        this.floatingWeight = floatingWeight;
    }

    public int bytes() {
        return bytes;
    }

    /** Whether weights of this type can be used by the forward pass (widened to fp32 on the fly). */
    public boolean isWeightType() {
        return floatingWeight;
    }

    /** The dtype for a header's spelling, or null when unknown. */
    public static DType fromHeader(String name) {
        return Arrays.stream(values()).filter(d -> d.name().equals(name)).findFirst().orElse(null);
    }
}
