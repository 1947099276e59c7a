package io.expertmesh.model.weights;

import io.expertmesh.model.safetensors.DType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;

/** The fixtures of {@code src/test/resources/quant}, written by gguf-py (make_fixture.py there). */
public final class QuantFixture {
    private QuantFixture() {}

    public static byte[] bytes(DType type, String suffix) {
        String name = "/quant/" + type.name().toLowerCase(Locale.ROOT) + "." + suffix;
        try (InputStream in = QuantFixture.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing test resource " + name);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static MemorySegment blocks(DType type) {
        return MemorySegment.ofArray(bytes(type, "blocks"));
    }

    public static float[] floats(DType type, String suffix) {
        byte[] b = bytes(type, suffix);
        float[] out = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    /** Index of the first value whose bits differ (any NaN equals any NaN), or -1. */
    public static int firstMismatch(float[] expected, float[] actual) {
        if (expected.length != actual.length) return Math.min(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            boolean bothNaN = Float.isNaN(expected[i]) && Float.isNaN(actual[i]);
            if (!bothNaN && Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) return i;
        }
        return -1;
    }
}
