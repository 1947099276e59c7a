package io.expertmesh.model.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * A fixed set of compute threads that, together with the calling thread, run the indices of one job
 * at a time. Workers take indices from a shared counter (so a slow core does not hold the others
 * back) and spin for a while between jobs before parking: a decode step issues dozens of short
 * jobs with little serial work between them, and waking a parked thread costs from a few
 * microseconds on an idle machine to hundreds when the cores are busy, which can be as much as a
 * whole expert's matrix product.
 */
public final class ParallelRunner implements AutoCloseable {
    private static final long SPIN_NANOS = 2_000_000L;

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
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (current == last && !closed) {
                if (System.nanoTime() < spinUntil) Thread.onSpinWait();
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
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (remaining.get() > 0) {
                if (System.nanoTime() < spinUntil) Thread.onSpinWait();
                else LockSupport.park(this);
            }
        }
    }
}
