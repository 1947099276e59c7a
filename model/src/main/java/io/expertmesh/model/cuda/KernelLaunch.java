package io.expertmesh.model.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * One kernel launch, checked against what the hardware allows and against the kernel's parameter
 * list in the PTX, with its arguments encoded as the driver copies them. Both {@link CudaDevice}
 * and the emulator build every launch through {@link #of}, so a launch the GPU would reject (or,
 * worse, run with a 4-byte value where the kernel reads 8) fails the same way on both.
 *
 * @param arguments the kernel's arguments, each as its bytes (4 or 8) and its bits (little end first)
 */
public record KernelLaunch(String kernel, int gridX, int gridY, int block, int sharedBytes, List<Argument> arguments) {
    /** Threads per block on every architecture the PTX targets. */
    public static final int MAX_THREADS_PER_BLOCK = 1024;
    /** The largest grid.y (and grid.z). */
    public static final int MAX_GRID_Y = 65535;
    /** Shared memory per block (static plus dynamic) without the cuFuncSetAttribute opt-in, which the kernels do not use. */
    public static final int MAX_SHARED_BYTES = 48 * 1024;

    /** One argument as the driver copies it into the kernel's parameter space. */
    public record Argument(int bytes, long bits) {}

    public KernelLaunch {
        arguments = List.copyOf(arguments);
    }

    /**
     * Checks a launch of {@code kernel} from {@code module} on a (gridX, gridY) grid of
     * {@code block}-thread blocks with {@code sharedBytes} of dynamic shared memory. Arguments are
     * DevicePointer or Long for a {@code .u64} parameter, Integer for {@code .u32}/{@code .s32},
     * Float for {@code .f32}; anything else fails with a message naming the kernel and the argument.
     */
    public static KernelLaunch of(PtxModule module, String kernel, int gridX, int gridY, int block, int sharedBytes, Object... args) {
        List<String> types = module.parameters(kernel);
        if (block < 1 || block > MAX_THREADS_PER_BLOCK) {
            throw new IllegalArgumentException(kernel + ": " + block + " threads per block (1 to " + MAX_THREADS_PER_BLOCK + " allowed)");
        }
        if (gridX < 1 || gridY < 1 || gridY > MAX_GRID_Y) {
            throw new IllegalArgumentException(kernel + ": grid " + gridX + " × " + gridY + " (x from 1 to 2^31-1, y from 1 to " + MAX_GRID_Y + ")");
        }
        if (sharedBytes < 0 || sharedBytes > MAX_SHARED_BYTES) {
            throw new IllegalArgumentException(kernel + ": " + sharedBytes + " bytes of dynamic shared memory (at most " + MAX_SHARED_BYTES + " per block)");
        }
        if (args.length != types.size()) {
            throw new IllegalArgumentException(kernel + ": " + args.length + " arguments for its " + types.size() + " PTX parameters " + types);
        }
        List<Argument> encoded = new ArrayList<>(args.length);
        for (int i = 0; i < args.length; i++) encoded.add(encode(kernel, i, types.get(i), args[i]));
        return new KernelLaunch(kernel, gridX, gridY, block, sharedBytes, encoded);
    }

    private static Argument encode(String kernel, int index, String type, Object arg) {
        Argument a = switch (type) {
            case "u64", "s64", "b64" -> switch (arg) {
                case DevicePointer p -> new Argument(8, p.address());
                case Long v -> new Argument(8, v);
                case null, default -> null;
            };
            case "u32", "s32", "b32" -> arg instanceof Integer v ? new Argument(4, v & 0xffffffffL) : null;
            case "f32" -> arg instanceof Float v ? new Argument(4, Float.floatToRawIntBits(v) & 0xffffffffL) : null;
            default -> throw new IllegalArgumentException(kernel + ": PTX parameter " + index + " has type ." + type + ", which launches do not support");
        };
        if (a == null) {
            String given = arg == null ? "null" : arg.getClass().getSimpleName() + " " + arg;
            throw new IllegalArgumentException(kernel + ": argument " + index + " is " + given + ", but the kernel's PTX parameter " + index
                    + " is ." + type + " (" + expected(type) + ")");
        }
        return a;
    }

    private static String expected(String type) {
        return switch (type) {
            case "u64", "s64", "b64" -> "8 bytes: a DevicePointer or a Long";
            case "f32" -> "a Float";
            default -> "4 bytes: an Integer";
        };
    }
}
