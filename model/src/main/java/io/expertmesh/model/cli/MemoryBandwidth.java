package io.expertmesh.model.cli;

import io.expertmesh.model.kernels.KernelBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's memory bandwidth, measured with the same threads the model uses: a streaming read
 * of a buffer far larger than the caches (what a decode step's weight stream can reach at best),
 * and a copy between two such buffers (bytes read plus bytes written).
 */
final class MemoryBandwidth implements AutoCloseable {
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final long BUFFER = 512L << 20;
    private static final long TASK = 4L << 20;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment a = arena.allocate(BUFFER, 64);
    private final MemorySegment b = arena.allocate(BUFFER, 64);
    private final KernelBackend backend;
    private volatile int sink;

    MemoryBandwidth(KernelBackend backend) {
        this.backend = backend;
        a.fill((byte) 1);
        b.fill((byte) 2);
        for (int i = 0; i < 3; i++) {
            readOnce();
            copyOnce();
        }
    }

    /** Best of three streaming reads of both buffers, in GB/s. */
    double read() {
        return Math.max(readOnce(), Math.max(readOnce(), readOnce()));
    }

    /** Best of three copies, in GB/s counting bytes read and written. */
    double copy() {
        return Math.max(copyOnce(), Math.max(copyOnce(), copyOnce()));
    }

    private double readOnce() {
        int tasks = (int) (2 * BUFFER / TASK);
        int[] sums = new int[tasks];
        long t0 = System.nanoTime();
        backend.parallelFor(tasks, t -> {
            MemorySegment seg = t < tasks / 2 ? a : b;
            long from = (t % (tasks / 2)) * TASK;
            IntVector acc = IntVector.zero(I);
            for (long o = from; o < from + TASK; o += I.vectorByteSize()) {
                acc = acc.add(IntVector.fromMemorySegment(I, seg, o, ByteOrder.LITTLE_ENDIAN));
            }
            sums[t] = acc.reduceLanes(VectorOperators.ADD);
        });
        long t1 = System.nanoTime();
        int s = 0;
        for (int v : sums) s += v;
        sink = s;
        return 2 * BUFFER / ((t1 - t0) / 1e9) / 1e9;
    }

    private double copyOnce() {
        int tasks = (int) (BUFFER / TASK);
        long t0 = System.nanoTime();
        backend.parallelFor(tasks, t -> MemorySegment.copy(a, t * TASK, b, t * TASK, TASK));
        long t1 = System.nanoTime();
        return 2 * BUFFER / ((t1 - t0) / 1e9) / 1e9;
    }

    @Override
    public void close() {
        arena.close();
    }
}
