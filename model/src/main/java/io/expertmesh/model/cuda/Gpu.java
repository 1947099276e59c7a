package io.expertmesh.model.cuda;

import java.lang.foreign.MemorySegment;

/**
 * What {@link GpuModel} needs of a device: memory, copies and launches of the kernels in
 * {@code ernie.cu} by name. {@link CudaDevice} is a real GPU through the CUDA driver API.
 */
public interface Gpu extends AutoCloseable {
    String name();

    /** Binds the device to the calling thread; every other call comes from a thread that did this. */
    void makeCurrent();

    /** Bytes of device memory in use (by anything on the device), and its total. */
    long[] memoryUsedAndTotal();

    DevicePointer allocate(long bytes);

    void free(DevicePointer p);

    default DevicePointer upload(float[] data) {
        DevicePointer p = allocate(4L * data.length);
        copyIn(p, data, data.length);
        return p;
    }

    void copyIn(DevicePointer dst, float[] data, int count);

    void copyIn(DevicePointer dst, int[] data, int count);

    /** Copies a (mapped) host segment to {@code dst}. */
    void copyIn(DevicePointer dst, MemorySegment src);

    void copyOut(float[] dst, DevicePointer src, int count);

    void copyOut(int[] dst, DevicePointer src, int count);

    void copy(DevicePointer dst, DevicePointer src, long bytes);

    /**
     * Launches {@code kernel} on a (gridX, gridY) grid of {@code block}-thread blocks with
     * {@code sharedBytes} of dynamic shared memory. Arguments are DevicePointer, Integer, Long or
     * Float, in the kernel's parameter order.
     */
    void launch(String kernel, int gridX, int gridY, int block, int sharedBytes, Object... args);

    void synchronize();

    /**
     * Records the launches and device-to-device copies {@code work} issues, without running them, as
     * a graph for {@link #replay}: their arguments are fixed now, device memory is read when it runs.
     */
    Graph capture(Runnable work);

    /** Runs a captured graph (after every copy issued before it). */
    void replay(Graph graph);

    /** A captured sequence of launches. */
    interface Graph extends AutoCloseable {
        @Override
        void close();
    }

    @Override
    void close();
}
