package io.expertmesh.model.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@link Gpu} that runs the project's CUDA C kernels on the CPU: ernie.cu is compiled by g++
 * against a small emulator of the CUDA execution model (src/test/cuda-emulator: block threads as
 * fibers, __syncthreads and warp shuffles as barriers) and called through the FFM API; device
 * memory is host memory. It checks the kernels' arithmetic and indexing and the host code that
 * drives them, not timing, and not anything specific to real hardware.
 */
public final class EmulatedGpu implements Gpu {
    /** The repository root (set by the build for every module's tests). */
    private static final Path ROOT = Path.of(System.getProperty("expertmesh.root", ".."));
    private static final Path SOURCE = ROOT.resolve("model/src/main/cuda/ernie.cu");
    private static final Path EMULATOR = ROOT.resolve("model/src/test/cuda-emulator");
    private static final Path BUILD = ROOT.resolve("model/target/cuda-emulator");
    private static final Pattern KERNEL = Pattern.compile("extern \"C\" __global__ void (\\w+)\\(([^)]*)\\)", Pattern.DOTALL);
    private static Optional<MethodHandle> launcher;
    private static String unavailable = "";

    private final Arena arena = Arena.ofShared();
    private final TreeMap<Long, MemorySegment> memory = new TreeMap<>();
    private final MethodHandle launch;
    private List<Runnable> recording;

    private EmulatedGpu(MethodHandle launch) {
        this.launch = launch;
    }

    /** The emulator, built on first use; empty (see {@link #whyUnavailable}) when there is no g++. */
    public static synchronized Optional<EmulatedGpu> open() {
        if (launcher == null) launcher = build();
        return launcher.map(EmulatedGpu::new);
    }

    public static String whyUnavailable() {
        return unavailable;
    }

    private static Optional<MethodHandle> build() {
        try {
            Files.createDirectories(BUILD);
            Path translated = BUILD.resolve("ernie_emu.cpp");
            Files.writeString(translated, translate(Files.readString(SOURCE)));
            Path library = BUILD.resolve("libernie_emu.so");
            Process gxx = new ProcessBuilder("g++", "-O3", "-march=native", "-std=c++17", "-fPIC", "-shared", "-ffp-contract=off", "-fno-fast-math",
                    "-Wno-unknown-pragmas", "-I" + EMULATOR, "-o", library.toString(), translated.toString(),
                    EMULATOR.resolve("cuda_emulator.cpp").toString()).redirectErrorStream(true).start();
            String log = new String(gxx.getInputStream().readAllBytes());
            if (!gxx.waitFor(300, TimeUnit.SECONDS) || gxx.exitValue() != 0) {
                // A compile error is a bug in the kernels or the emulator, not a missing tool: fail, never skip.
                throw new IllegalStateException("g++ could not build the CUDA emulator:\n" + log);
            }
            SymbolLookup lookup = SymbolLookup.libraryLookup(library.toAbsolutePath(), Arena.global());
            return Optional.of(Linker.nativeLinker().downcallHandle(lookup.find("emu_launch").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS)));
        } catch (IOException e) {
            unavailable = "g++ is not available to build the CUDA emulator: " + e.getMessage();
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            unavailable = "interrupted";
            return Optional.empty();
        }
    }

    /** ernie.cu as C++ for the emulator, plus a trampoline per kernel that unpacks cuLaunchKernel-style arguments. */
    static String translate(String cuda) {
        String cpp = cuda.replace("#include <cuda_bf16.h>", "#include \"cuda_emulator.h\"").replace("#include <mma.h>", "")
                .replaceAll("extern __shared__ (\\w+) (\\w+)\\[\\];", "$1* $2 = reinterpret_cast<$1*>(emu_dynamic_smem);");
        StringBuilder tail = new StringBuilder("\nstruct KernelEntry { const char* name; void (*fn)(void**); };\n");
        List<String> names = new ArrayList<>();
        Matcher m = KERNEL.matcher(cuda);
        while (m.find()) {
            String[] params = m.group(2).split(",");
            List<String> args = new ArrayList<>();
            for (int i = 0; i < params.length; i++) {
                String type = params[i].replace("__restrict__", "").strip().replaceAll("\\s*\\w+$", "");
                args.add("*reinterpret_cast<" + type + "*>(a[" + i + "])");
            }
            tail.append("static void emu_").append(m.group(1)).append("(void** a) { ").append(m.group(1)).append('(')
                    .append(String.join(", ", args)).append("); }\n");
            names.add(m.group(1));
        }
        tail.append("extern const KernelEntry emu_kernels[] = {");
        for (String n : names) tail.append("{\"").append(n).append("\", emu_").append(n).append("}, ");
        tail.append("};\nextern const int emu_kernel_count = ").append(names.size()).append(";\n");
        return cpp + tail;
    }

    @Override
    public String name() {
        return "CUDA emulator on the CPU";
    }

    @Override
    public void makeCurrent() {}

    @Override
    public long[] memoryUsedAndTotal() {
        long used = 0;
        for (MemorySegment s : memory.values()) used += s.byteSize();
        return new long[] {used, Runtime.getRuntime().maxMemory()};
    }

    @Override
    public DevicePointer allocate(long bytes) {
        MemorySegment s = arena.allocate(Math.max(bytes, 4), 256);
        memory.put(s.address(), s);
        return new DevicePointer(s.address());
    }

    @Override
    public void free(DevicePointer p) {
        if (memory.remove(p.address()) == null) throw new IllegalArgumentException("no allocation at 0x" + Long.toHexString(p.address()));
    }

    /** As in a CUDA stream capture, copies to or from the host may not be recorded. */
    private void hostCopyAllowed() {
        if (recording != null) throw new IllegalStateException("a host copy inside a graph capture");
    }

    private MemorySegment at(DevicePointer p, long bytes) {
        var e = memory.floorEntry(p.address());
        if (e == null || p.address() + bytes > e.getKey() + e.getValue().byteSize()) {
            throw new IllegalArgumentException(bytes + " bytes at 0x" + Long.toHexString(p.address()) + " are outside every allocation");
        }
        return e.getValue().asSlice(p.address() - e.getKey(), bytes);
    }

    @Override
    public void copyIn(DevicePointer dst, float[] data, int count) {
        hostCopyAllowed();
        MemorySegment.copy(data, 0, at(dst, 4L * count), ValueLayout.JAVA_FLOAT, 0, count);
    }

    @Override
    public void copyIn(DevicePointer dst, int[] data, int count) {
        hostCopyAllowed();
        MemorySegment.copy(data, 0, at(dst, 4L * count), ValueLayout.JAVA_INT, 0, count);
    }

    @Override
    public void copyIn(DevicePointer dst, MemorySegment src) {
        hostCopyAllowed();
        at(dst, src.byteSize()).copyFrom(src);
    }

    @Override
    public void copyOut(float[] dst, DevicePointer src, int count) {
        hostCopyAllowed();
        MemorySegment.copy(at(src, 4L * count), ValueLayout.JAVA_FLOAT, 0, dst, 0, count);
    }

    @Override
    public void copyOut(int[] dst, DevicePointer src, int count) {
        hostCopyAllowed();
        MemorySegment.copy(at(src, 4L * count), ValueLayout.JAVA_INT, 0, dst, 0, count);
    }

    @Override
    public void copy(DevicePointer dst, DevicePointer src, long bytes) {
        if (recording != null) {
            recording.add(() -> copy(dst, src, bytes));
            return;
        }
        at(dst, bytes).copyFrom(at(src, bytes));
    }

    @Override
    public void launch(String kernel, int gridX, int gridY, int block, int sharedBytes, Object... args) {
        if (recording != null) {
            Object[] captured = args.clone();
            recording.add(() -> launch(kernel, gridX, gridY, block, sharedBytes, captured));
            return;
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment argv = call.allocate(ValueLayout.ADDRESS, args.length);
            for (int i = 0; i < args.length; i++) {
                MemorySegment slot = call.allocate(8, 8);
                switch (args[i]) {
                    case DevicePointer p -> slot.set(ValueLayout.JAVA_LONG, 0, p.address());
                    case Integer v -> slot.set(ValueLayout.JAVA_INT, 0, v);
                    case Long v -> slot.set(ValueLayout.JAVA_LONG, 0, v);
                    case Float v -> slot.set(ValueLayout.JAVA_FLOAT, 0, v);
                    default -> throw new IllegalArgumentException(kernel + ": unsupported argument " + args[i]);
                }
                argv.setAtIndex(ValueLayout.ADDRESS, i, slot);
            }
            int rc = (int) launch.invokeExact(call.allocateFrom(kernel), gridX, gridY, block, sharedBytes, argv);
            if (rc != 0) throw new IllegalStateException("emulated launch of " + kernel + " failed with " + rc);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public void synchronize() {}

    /** Records like a CUDA stream capture: launches and device copies with their arguments as given, run later. */
    @Override
    public Graph capture(Runnable work) {
        if (recording != null) throw new IllegalStateException("capture inside a capture");
        recording = new ArrayList<>();
        try {
            work.run();
            List<Runnable> steps = List.copyOf(recording);
            return new RecordedGraph(steps);
        } finally {
            recording = null;
        }
    }

    @Override
    public void replay(Graph graph) {
        if (recording != null) throw new IllegalStateException("replay inside a capture");
        for (Runnable step : ((RecordedGraph) graph).steps()) step.run();
    }

    private record RecordedGraph(List<Runnable> steps) implements Graph {
        @Override
        public void close() {}
    }

    @Override
    public void close() {
        memory.clear();
        arena.close();
    }
}
