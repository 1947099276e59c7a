package io.expertmesh.model.kernels;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which code computes the CPU backend's decode products of block-quantized weights: the Vector API
 * kernels ({@link QuantizedMath}, everywhere) or their C twins ({@link NativeQuantizedMath}, x86-64
 * Linux with AVX-512). Both compute the fp32 product of the dequantized weights; they differ only in
 * the rounding of sums. Chosen with the system property {@value #PROPERTY}: {@code auto} (the default:
 * native where available), {@code java} or {@code native} (an error where unavailable).
 */
public enum QuantizedKernels {
    JAVA,
    NATIVE;

    public static final String PROPERTY = "expertmesh.cpu.kernels";
    private static final Logger log = LoggerFactory.getLogger(QuantizedKernels.class);
    private static final AtomicBoolean FALLBACK_LOGGED = new AtomicBoolean();

    /** The kernels {@value #PROPERTY} asks for. */
    public static QuantizedKernels configured() {
        String value = System.getProperty(PROPERTY, "auto").strip().toLowerCase(Locale.ROOT);
        return switch (value) {
            case "auto" -> {
                if (NativeQuantizedMath.UNAVAILABLE == null) yield NATIVE;
                if (FALLBACK_LOGGED.compareAndSet(false, true)) {
                    log.info("quantized weights use the Java kernels (the native ones cannot run here: {})", NativeQuantizedMath.UNAVAILABLE);
                }
                yield JAVA;
            }
            case "java" -> JAVA;
            case "native" -> {
                if (NativeQuantizedMath.UNAVAILABLE != null) {
                    throw new IllegalStateException("-D" + PROPERTY + "=native: the native kernels cannot run here: " + NativeQuantizedMath.UNAVAILABLE);
                }
                yield NATIVE;
            }
            default -> throw new IllegalArgumentException("-D" + PROPERTY + " must be auto, java or native, not '" + value + "'");
        };
    }

    /** Why the native kernels cannot run here, or null when they can. */
    static String nativeUnavailable() {
        return NativeQuantizedMath.UNAVAILABLE;
    }
}
