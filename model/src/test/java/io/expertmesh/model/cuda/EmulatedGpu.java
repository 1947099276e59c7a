package io.expertmesh.model.cuda;

import java.io.IOException;
import java.io.UncheckedIOException;
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
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@link Gpu} that runs the project's CUDA C kernels on the CPU: ernie.cu (and the test-only
 * kernels of src/test/cuda) is compiled by g++ against a small emulator of the CUDA execution model
 * (src/test/cuda-emulator: block threads as fibers, __syncthreads and warp shuffles as barriers) and
 * called through the FFM API; device memory is host memory. Besides the kernels' arithmetic and
 * indexing, it enforces what a GPU enforces: every launch goes through {@link KernelLaunch}
 * (argument widths against the PTX, block, grid and shared-memory limits); global and dynamic shared
 * memory accesses are checked against their allocation and for alignment; a block has at most 48 KB
 * of shared memory; and no kernel may be launched for the first time inside a graph capture. A
 * violation fails the launch with an exception naming the kernel (and, for a memory fault, the
 * block, thread and address).
 */
public final class EmulatedGpu implements Gpu {
    /** The repository root (set by the build for every module's tests). */
    private static final Path ROOT = Path.of(System.getProperty("expertmesh.root", ".."));
    private static final Path SOURCE = ROOT.resolve("model/src/main/cuda/ernie.cu");
    private static final Path TEST_KERNELS = ROOT.resolve("model/src/test/cuda");
    private static final Path EMULATOR = ROOT.resolve("model/src/test/cuda-emulator");
    private static final Path BUILD = ROOT.resolve("model/target/cuda-emulator");
    private static final Pattern KERNEL = Pattern.compile("extern \"C\" __global__ void (\\w+)\\(([^)]*)\\)", Pattern.DOTALL);
    /** The pointer types the kernels use; one missing here fails to compile (a gptr is no raw pointer), so none goes unchecked. */
    private static final Pattern POINTER_TYPE =
            Pattern.compile("\\b(const\\s+)?\\b(unsigned long long|unsigned short|unsigned char|__nv_bfloat16|float4|uint4|float|int)\\s*\\*(\\s*__restrict__)?");
    private static final Pattern STATIC_SHARED = Pattern.compile("__shared__\\s+((?:__align__\\(\\d+\\)\\s+)?\\w+)\\s+(\\w+)((?:\\[[^\\]]+\\])+);");
    private static Library library;

    /** The emulator's C entry points (see cuda_emulator.cpp). */
    private record Library(MethodHandle launch, MethodHandle error, MethodHandle register, MethodHandle unregister) {}

    private final Arena arena = Arena.ofShared();
    private final TreeMap<Long, MemorySegment> memory = new TreeMap<>();
    private final PtxModule kernels;
    /** Kernels launched outside a capture: only these may be captured, as lazy loading on a real GPU demands. */
    private final Set<String> launchedBeforeCapture = new HashSet<>();
    private List<Runnable> recording;

    private EmulatedGpu(PtxModule kernels) {
        this.kernels = kernels;
    }

    /** The emulator with the shipped kernels (launches checked against the shipped PTX), built on first use; fails without g++. */
    public static EmulatedGpu open() {
        return open(CudaDevice.MODULE);
    }

    /** The emulator with the kernels {@code kernels} declares (the shipped ones, or the test-only ones of src/test/cuda). */
    static synchronized EmulatedGpu open(PtxModule kernels) {
        if (library == null) library = build();
        return new EmulatedGpu(kernels);
    }

    private static Library build() {
        try {
            Files.createDirectories(BUILD);
            StringBuilder cuda = new StringBuilder(Files.readString(SOURCE));
            try (var tests = Files.list(TEST_KERNELS)) {
                for (Path cu : tests.filter(p -> p.toString().endsWith(".cu")).sorted().toList()) cuda.append('\n').append(Files.readString(cu));
            }
            Path translated = BUILD.resolve("ernie_emu.cpp");
            Files.writeString(translated, translate(cuda.toString()));
            Path lib = BUILD.resolve("libernie_emu.so");
            Process gxx;
            try {
                gxx = new ProcessBuilder("g++", "-O3", "-march=native", "-std=c++17", "-fPIC", "-shared", "-ffp-contract=fast", "-fno-fast-math",
                        "-Wno-unknown-pragmas", "-I" + EMULATOR, "-o", lib.toString(), translated.toString(),
                        EMULATOR.resolve("cuda_emulator.cpp").toString()).redirectErrorStream(true).start();
            } catch (IOException e) {
                // The GPU tests must run everywhere: no compiler is a failure to fix (install g++), never a skip.
                throw new IllegalStateException("g++ is needed to build the CUDA emulator for the GPU tests (apt-get install g++): " + e.getMessage(), e);
            }
            String log = new String(gxx.getInputStream().readAllBytes());
            if (!gxx.waitFor(300, TimeUnit.SECONDS) || gxx.exitValue() != 0) {
                throw new IllegalStateException("g++ could not build the CUDA emulator:\n" + log);
            }
            SymbolLookup lookup = SymbolLookup.libraryLookup(lib.toAbsolutePath(), Arena.global());
            Linker linker = Linker.nativeLinker();
            return new Library(
                    linker.downcallHandle(lookup.find("emu_launch").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS)),
                    linker.downcallHandle(lookup.find("emu_error").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS)),
                    linker.downcallHandle(lookup.find("emu_register").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG)),
                    linker.downcallHandle(lookup.find("emu_unregister").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while building the CUDA emulator", e);
        }
    }

    /**
     * CUDA C as C++ for the emulator: every pointer of a kernel's types becomes a checked gptr (and
     * reinterpret_cast an emu_cast that keeps its bounds), each static __shared__ array reports its
     * size, extern __shared__ arrays are the launch's checked dynamic shared memory, and each kernel
     * gets a trampoline that unpacks cuLaunchKernel-style arguments.
     */
    static String translate(String cuda) {
        String cpp = cuda.replace("#include <cuda_bf16.h>", "#include \"cuda_emulator.h\"").replace("#include <mma.h>", "")
                .replaceAll("extern __shared__ (\\w+) (\\w+)\\[\\];", "gptr<$1> $2 = emu_dynamic_shared<$1>();");
        cpp = STATIC_SHARED.matcher(cpp).replaceAll("static $1 $2$3; emu_static_shared($2, sizeof $2);");
        cpp = POINTER_TYPE.matcher(cpp).replaceAll(m -> "gptr<" + (m.group(1) == null ? "" : "const ") + m.group(2) + ">")
                .replace("reinterpret_cast<", "emu_cast<");
        StringBuilder tail = new StringBuilder("\nstruct KernelEntry { const char* name; void (*fn)(void**); };\n");
        List<String> names = new ArrayList<>();
        Matcher m = KERNEL.matcher(cuda);
        while (m.find()) {
            List<String> args = new ArrayList<>();
            if (!m.group(2).isBlank()) {
                String[] params = m.group(2).split(",");
                for (int i = 0; i < params.length; i++) {
                    String type = params[i].replace("__restrict__", "").strip().replaceAll("\\s*\\w+$", "");
                    args.add(type.endsWith("*")
                            ? "emu_global<" + type.substring(0, type.length() - 1).strip() + ">(*reinterpret_cast<unsigned long long*>(a[" + i + "]))"
                            : "*reinterpret_cast<" + type + "*>(a[" + i + "])");
                }
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
        invoke(() -> {
            library.register().invokeExact(s.address(), s.byteSize());
        });
        return new DevicePointer(s.address());
    }

    @Override
    public void free(DevicePointer p) {
        if (memory.remove(p.address()) == null) throw new IllegalArgumentException("no allocation at 0x" + Long.toHexString(p.address()));
        invoke(() -> {
            library.unregister().invokeExact(p.address());
        });
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
        KernelLaunch launch = KernelLaunch.of(kernels, kernel, gridX, gridY, block, sharedBytes, args);
        if (recording != null) {
            if (!launchedBeforeCapture.contains(kernel)) {
                throw new IllegalStateException("kernel " + kernel + " is first launched inside a graph capture: with lazy module loading "
                        + "(the default since CUDA 12.2) its loading may fail there; launch every kernel once before capturing");
            }
            recording.add(() -> run(launch));
            return;
        }
        launchedBeforeCapture.add(kernel);
        run(launch);
    }

    private void run(KernelLaunch launch) {
        try (Arena call = Arena.ofConfined()) {
            List<KernelLaunch.Argument> args = launch.arguments();
            MemorySegment argv = call.allocate(ValueLayout.ADDRESS, Math.max(1, args.size()));
            for (int i = 0; i < args.size(); i++) {
                MemorySegment slot = call.allocate(8, 8);
                if (args.get(i).bytes() == 8) slot.set(ValueLayout.JAVA_LONG, 0, args.get(i).bits());
                else slot.set(ValueLayout.JAVA_INT, 0, (int) args.get(i).bits());
                argv.setAtIndex(ValueLayout.ADDRESS, i, slot);
            }
            int rc = (int) library.launch().invokeExact(call.allocateFrom(launch.kernel()), launch.gridX(), launch.gridY(), launch.block(),
                    launch.sharedBytes(), argv);
            if (rc != 0) {
                MemorySegment why = (MemorySegment) library.error().invokeExact();
                throw new IllegalStateException("emulated launch failed: " + why.reinterpret(Long.MAX_VALUE).getString(0));
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A call into the emulator library that returns nothing and throws nothing checked. */
    private interface NativeCall {
        void run() throws Throwable;
    }

    private static void invoke(NativeCall call) {
        try {
            call.run();
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
        for (long base : memory.keySet()) {
            invoke(() -> {
                library.unregister().invokeExact(base);
            });
        }
        memory.clear();
        arena.close();
    }
}
