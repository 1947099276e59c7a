package io.expertmesh.model.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * A fixed set of compute threads that, together with the calling thread, run the indices of one job
 * at a time. Workers take indices from a shared counter (so a slow core does not hold the others
 * back) and spin briefly between jobs before parking, because a decode step issues a few hundred
 * short jobs back to back.
 */
public final class ParallelRunner implements AutoCloseable {
    private static final int SPINS_BEFORE_PARK = 1 << 14;

    private final Thread[] workers;
    private final ReentrantLock submitLock = new ReentrantLock();
    private volatile Job current;
    private volatile boolean closed;

    /** @param threads total threads including the caller; 1 runs everything on the caller. */
    public ParallelRunner(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = Thread.ofPlatform().daemon().name("mesh-compute-" + (i + 1)).unstarted(this::workerLoop);
            workers[i].start();
        }
    }

    public int threads() {
        return workers.length + 1;
    }

    /** Runs {@code body.accept(i)} for every i in [0, tasks), returning when all have finished. */
    public void run(int tasks, IntConsumer body) {
        if (tasks <= 0) return;
        if (tasks == 1 || workers.length == 0 || isWorker() || submitLock.isHeldByCurrentThread()) {
            for (int i = 0; i < tasks; i++) body.accept(i);
            return;
        }
        submitLock.lock();
        try {
            Job job = new Job(tasks, body, Thread.currentThread());
            current = job;
            for (Thread w : workers) LockSupport.unpark(w);
            job.work();
            job.awaitDone();
            if (job.failure != null) {
                if (job.failure instanceof RuntimeException re) throw re;
                if (job.failure instanceof Error err) throw err;
                throw new IllegalStateException(job.failure);
            }
        } finally {
            submitLock.unlock();
        }
    }

    private boolean isWorker() {
        Thread t = Thread.currentThread();
        for (Thread w : workers) if (w == t) return true;
        return false;
    }

    private void workerLoop() {
        Job last = null;
        while (!closed) {
            Job job = current;
            if (job != null && job != last) {
                last = job;
                job.work();
                continue;
            }
            int spins = 0;
            while (current == last && !closed) {
                if (++spins < SPINS_BEFORE_PARK) Thread.onSpinWait();
                else LockSupport.park(this);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
    }

    private static final class Job {
        final int tasks;
        final IntConsumer body;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger remaining;
        volatile Throwable failure;

        Job(int tasks, IntConsumer body, Thread caller) {
            this.tasks = tasks;
            this.body = body;
            this.caller = caller;
            this.remaining = new AtomicInteger(tasks);
        }

        void work() {
            int i;
            while ((i = next.getAndIncrement()) < tasks) {
                try {
                    if (failure == null) body.accept(i);
                } catch (Throwable t) {
                    failure = t;
                } finally {
                    if (remaining.decrementAndGet() == 0) LockSupport.unpark(caller);
                }
            }
        }

        void awaitDone() {
            int spins = 0;
            while (remaining.get() > 0) {
                if (++spins < SPINS_BEFORE_PARK) Thread.onSpinWait();
                else LockSupport.park(this);
            }
        }
    }
}
