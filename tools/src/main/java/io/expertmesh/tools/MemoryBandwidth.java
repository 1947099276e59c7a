package io.expertmesh.tools;

import io.expertmesh.model.kernels.KernelBackend;
import java.util.Arrays;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's memory bandwidth, measured with the same threads the model uses: a streaming read
 * of a buffer far larger than the caches (what a decode step's weight stream can reach at best),
 * and a copy between two such buffers (bytes read plus bytes written).
 *
 * <p>The buffers are heap arrays, not native memory segments: the JIT profiles the receiver types
 * of the Vector API's segment loads once for the whole process, and the weight kernels read file
 * mappings. A probe that read native segments through the same loads made those types two, and
 * the decode steps that followed ran 15-23 % slower than in a server, which never probes.
 */
final class MemoryBandwidth {
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final int BUFFER_INTS = 128 << 20;
    private static final int TASK_INTS = 1 << 20;

    private final int[] a = new int[BUFFER_INTS];
    private final int[] b = new int[BUFFER_INTS];
    private final KernelBackend backend;
    private volatile int sink;

    MemoryBandwidth(KernelBackend backend) {
        this.backend = backend;
        Arrays.fill(a, 1);
        Arrays.fill(b, 2);
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
        int tasks = 2 * (BUFFER_INTS / TASK_INTS);
        int[] sums = new int[tasks];
        long t0 = System.nanoTime();
        backend.parallelFor(tasks, t -> {
            int[] buffer = t < tasks / 2 ? a : b;
            int from = (t % (tasks / 2)) * TASK_INTS;
            IntVector acc = IntVector.zero(I);
            for (int i = from; i < from + TASK_INTS; i += I.length()) acc = acc.add(IntVector.fromArray(I, buffer, i));
            sums[t] = acc.reduceLanes(VectorOperators.ADD);
        });
        long t1 = System.nanoTime();
        int s = 0;
        for (int v : sums) s += v;
        sink = s;
        return 2.0 * BUFFER_INTS * Integer.BYTES / ((t1 - t0) / 1e9) / 1e9;
    }

    private double copyOnce() {
        int tasks = BUFFER_INTS / TASK_INTS;
        long t0 = System.nanoTime();
        backend.parallelFor(tasks, t -> System.arraycopy(a, t * TASK_INTS, b, t * TASK_INTS, TASK_INTS));
        long t1 = System.nanoTime();
        return 2.0 * BUFFER_INTS * Integer.BYTES / ((t1 - t0) / 1e9) / 1e9;
    }
}
