package io.expertmesh.model.cuda;

import static jcuda.driver.JCudaDriver.cuCtxCreate;
import static jcuda.driver.JCudaDriver.cuCtxDestroy;
import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.JCudaDriver;

/**
 * One GPU through the CUDA driver API: a context, the project's PTX module, device memory and
 * kernel launches. Every call comes from the thread that uses the model, after {@link #makeCurrent}.
 * Launches and device-to-device copies go to one stream (which graphs are captured from); it is a
 * blocking stream, so the synchronous host copies, issued on the legacy stream, stay ordered with it.
 */
public final class CudaDevice implements Gpu {
    private static final String PTX_RESOURCE = "/io/expertmesh/model/cuda/ernie.ptx";
    private static final long UPLOAD_CHUNK = 1L << 30;
    /** The shipped kernels' PTX header and parameter lists. */
    static final PtxModule MODULE = PtxModule.parse(new String(ptx(), StandardCharsets.US_ASCII));
    private static Optional<String> unavailable;

    /** A driver allocation whose address JCuda keeps in its native pointer field. */
    private static final class Allocation extends CUdeviceptr {
        long bytes;

        long address() {
            return getNativePointer();
        }
    }

    private final CUcontext context = new CUcontext();
    private final CUmodule module = new CUmodule();
    private final CUstream stream = new CUstream();
    /** Every kernel of the module, looked up when the module loads: a lookup inside a graph capture can fail under lazy loading. */
    private final Map<String, CUfunction> functions = new HashMap<>();
    /** Live allocations by base address: a {@link DevicePointer} inside one is resolved to it plus an offset. */
    private final TreeMap<Long, Allocation> allocations = new TreeMap<>();
    private final String name;

    private CudaDevice(int ordinal) {
        CUdevice device = new CUdevice();
        cuDeviceGet(device, ordinal);
        byte[] raw = new byte[256];
        cuDeviceGetName(raw, raw.length, device);
        int end = 0;
        while (end < raw.length && raw[end] != 0) end++;
        this.name = new String(raw, 0, end, StandardCharsets.US_ASCII);
        cuCtxCreate(context, 0, device);
        byte[] ptx = ptx();
        cuModuleLoadData(module, Arrays.copyOf(ptx, ptx.length + 1));
        for (String kernel : MODULE.kernels().keySet()) {
            CUfunction f = new CUfunction();
            cuModuleGetFunction(f, module, kernel);
            functions.put(kernel, f);
        }
        cuStreamCreate(stream, 0);
    }

    /** Why no GPU can be used in this process, or empty when one can. Probed once. */
    public static synchronized Optional<String> unavailableReason() {
        if (unavailable == null) unavailable = probe();
        return unavailable;
    }

    private static Optional<String> probe() {
        try {
            JCudaDriver.setExceptionsEnabled(true);
            cuInit(0);
            int[] driver = new int[1];
            cuDriverGetVersion(driver);
            Optional<String> refusal = MODULE.driverRefusal(driver[0]);
            if (refusal.isPresent()) return refusal;
            int[] count = new int[1];
            cuDeviceGetCount(count);
            return count[0] > 0 ? Optional.empty() : Optional.of("the CUDA driver reports no GPU");
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            return Optional.of("the NVIDIA driver library libcuda.so.1 could not be loaded (no NVIDIA driver on this machine)");
        } catch (CudaException e) {
            return Optional.of("CUDA initialisation failed: " + e.getMessage());
        }
    }

    /** The shipped kernels' PTX header: its ISA decides the oldest driver that loads it. */
    public static PtxModule kernels() {
        return MODULE;
    }

    /** The driver's CUDA version as cuDriverGetVersion reports it (1000·major + 10·minor), or empty when no driver loads. */
    public static OptionalInt driverVersion() {
        try {
            JCudaDriver.setExceptionsEnabled(true);
            int[] driver = new int[1];
            cuDriverGetVersion(driver);
            return OptionalInt.of(driver[0]);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | CudaException e) {
            return OptionalInt.empty();
        }
    }

    /** Opens GPU {@code ordinal}; fails with the reason when CUDA cannot be used here. */
    public static CudaDevice open(int ordinal) {
        unavailableReason().ifPresent(reason -> {
            throw new IllegalStateException("--device cuda: " + reason);
        });
        return new CudaDevice(ordinal);
    }

    /** The PTX module the kernels ship as. */
    static byte[] ptx() {
        try (InputStream in = CudaDevice.class.getResourceAsStream(PTX_RESOURCE)) {
            if (in == null) throw new IllegalStateException("the CUDA kernels " + PTX_RESOURCE + " are missing from the build");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void makeCurrent() {
        cuCtxSetCurrent(context);
    }

    @Override
    public long[] memoryUsedAndTotal() {
        long[] free = new long[1];
        long[] total = new long[1];
        cuMemGetInfo(free, total);
        return new long[] {total[0] - free[0], total[0]};
    }

    @Override
    public DevicePointer allocate(long bytes) {
        Allocation a = new Allocation();
        a.bytes = Math.max(bytes, 4);
        cuMemAlloc(a, a.bytes);
        allocations.put(a.address(), a);
        return new DevicePointer(a.address());
    }

    @Override
    public void free(DevicePointer p) {
        Allocation a = allocations.remove(p.address());
        if (a == null) throw new IllegalArgumentException("no allocation starts at 0x" + Long.toHexString(p.address()));
        cuMemFree(a);
    }

    /** The driver pointer for {@code p}, which must lie inside a live allocation with {@code bytes} to spare. */
    private CUdeviceptr resolve(DevicePointer p, long bytes) {
        var entry = allocations.floorEntry(p.address());
        if (entry == null || p.address() + bytes > entry.getKey() + entry.getValue().bytes) {
            throw new IllegalArgumentException(bytes + " bytes at 0x" + Long.toHexString(p.address()) + " are outside every allocation");
        }
        return entry.getValue().withByteOffset(p.address() - entry.getKey());
    }

    @Override
    public void copyIn(DevicePointer dst, float[] data, int count) {
        if (count > 0) cuMemcpyHtoD(resolve(dst, 4L * count), Pointer.to(data), 4L * count);
    }

    @Override
    public void copyIn(DevicePointer dst, int[] data, int count) {
        if (count > 0) cuMemcpyHtoD(resolve(dst, 4L * count), Pointer.to(data), 4L * count);
    }

    @Override
    public void copyIn(DevicePointer dst, MemorySegment src) {
        for (long o = 0; o < src.byteSize(); o += UPLOAD_CHUNK) {
            long n = Math.min(UPLOAD_CHUNK, src.byteSize() - o);
            cuMemcpyHtoD(resolve(dst.plus(o), n), Pointer.to(src.asSlice(o, n).asByteBuffer()), n);
        }
    }

    @Override
    public void copyOut(float[] dst, DevicePointer src, int count) {
        if (count > 0) cuMemcpyDtoH(Pointer.to(dst), resolve(src, 4L * count), 4L * count);
    }

    @Override
    public void copyOut(int[] dst, DevicePointer src, int count) {
        if (count > 0) cuMemcpyDtoH(Pointer.to(dst), resolve(src, 4L * count), 4L * count);
    }

    @Override
    public void copy(DevicePointer dst, DevicePointer src, long bytes) {
        cuMemcpyDtoDAsync(resolve(dst, bytes), resolve(src, bytes), bytes, stream);
    }

    @Override
    public void launch(String kernel, int gridX, int gridY, int block, int sharedBytes, Object... args) {
        KernelLaunch launch = KernelLaunch.of(MODULE, kernel, gridX, gridY, block, sharedBytes, args);
        Pointer[] params = new Pointer[args.length];
        for (int i = 0; i < params.length; i++) {
            KernelLaunch.Argument a = launch.arguments().get(i);
            params[i] = a.bytes() == 8 ? Pointer.to(new long[] {a.bits()}) : Pointer.to(new int[] {(int) a.bits()});
        }
        cuLaunchKernel(functions.get(kernel), gridX, gridY, 1, block, 1, 1, sharedBytes, stream, Pointer.to(params), null);
    }

    @Override
    public void synchronize() {
        cuCtxSynchronize();
    }

    @Override
    public Graph capture(Runnable work) {
        CUgraph graph = new CUgraph();
        cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
        try {
            work.run();
        } finally {
            cuStreamEndCapture(stream, graph);
        }
        CUgraphExec exec = new CUgraphExec();
        cuGraphInstantiate(exec, graph, 0);
        return new CapturedGraph(graph, exec);
    }

    @Override
    public void replay(Graph graph) {
        cuGraphLaunch(((CapturedGraph) graph).exec, stream);
    }

    private record CapturedGraph(CUgraph graph, CUgraphExec exec) implements Graph {
        @Override
        public void close() {
            cuGraphExecDestroy(exec);
            cuGraphDestroy(graph);
        }
    }

    @Override
    public void close() {
        makeCurrent();
        cuCtxSynchronize();
        for (Allocation a : allocations.values()) cuMemFree(a);
        allocations.clear();
        cuStreamDestroy(stream);
        cuCtxDestroy(context);
    }
}
