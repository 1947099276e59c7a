package io.expertmesh.model.kernels;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which code runs the CPU backend's hottest kernels, the decode products of block-quantized weights,
 * the prefill tiles and attention: the Vector API ones ({@link QuantizedMath}, {@link VectorMath};
 * everywhere) or their C twins ({@link NativeKernels}; x86-64 Linux with AVX-512). Tiles and
 * attention are the same bit for bit; the quantized decode products differ only in the rounding of
 * fp32 sums. Chosen with the system property {@value #PROPERTY}: {@code auto} (the
 * default: native where available), {@code java} or {@code native} (an error where unavailable).
 */
public enum CpuKernels {
    JAVA,
    NATIVE;

    public static final String PROPERTY = "expertmesh.cpu.kernels";
    private static final Logger log = LoggerFactory.getLogger(CpuKernels.class);
    private static final AtomicBoolean FALLBACK_LOGGED = new AtomicBoolean();

    /** The kernels {@value #PROPERTY} asks for. */
    public static CpuKernels configured() {
        String value = System.getProperty(PROPERTY, "auto").strip().toLowerCase(Locale.ROOT);
        return switch (value) {
            case "auto" -> {
                if (NativeKernels.UNAVAILABLE == null) yield NATIVE;
                if (FALLBACK_LOGGED.compareAndSet(false, true)) {
                    log.info("the CPU backend uses its Java kernels (the native ones cannot run here: {})", NativeKernels.UNAVAILABLE);
                }
                yield JAVA;
            }
            case "java" -> JAVA;
            case "native" -> {
                if (NativeKernels.UNAVAILABLE != null) {
                    throw new IllegalStateException("-D" + PROPERTY + "=native: the native kernels cannot run here: " + NativeKernels.UNAVAILABLE);
                }
                yield NATIVE;
            }
            default -> throw new IllegalArgumentException("-D" + PROPERTY + " must be auto, java or native, not '" + value + "'");
        };
    }

    /** Why the native kernels cannot run here, or null when they can. */
    public static String nativeUnavailable() {
        return NativeKernels.UNAVAILABLE;
    }
}
