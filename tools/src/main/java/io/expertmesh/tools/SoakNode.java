package io.expertmesh.tools;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A node the soak runs in its own JVM, so that its RSS is its own: its command line, its current process
 * (a restart starts a new one, its incarnation), the log of each incarnation and the memory readings taken
 * of it. Only processes started here are ever signalled, by their own handles.
 */
final class SoakNode {
    /** A memory reading of one incarnation, {@code atNanos} on the soak's clock. */
    record Sample(long atNanos, int incarnation, long pid, ProcessMemory.Reading memory) {}

    final String name;
    private final List<String> command;
    private final Path logDir;
    private final List<Sample> samples = new ArrayList<>();
    private Process process;
    private int incarnation;
    /** Between a deliberate kill and the restart: its being down is no failure. */
    private boolean killed;

    private SoakNode(String name, List<String> command, Path logDir) {
        this.name = name;
        this.command = List.copyOf(command);
        this.logDir = logDir;
    }

    /** Starts {@code command} as node {@code name}, its output going to {@code logDir/NAME.log}. */
    static SoakNode start(String name, List<String> command, Path logDir) {
        var node = new SoakNode(name, command, logDir);
        node.startIncarnation();
        return node;
    }

    /** A free TCP port on loopback for a node to bind; another process may take it first, which the node's start would report. */
    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free loopback port", e);
        }
    }

    private synchronized void startIncarnation() {
        incarnation++;
        Path log = log();
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start node " + name + ": " + e.getMessage(), e);
        }
    }

    /** The log of the current incarnation: NAME.log, then NAME.2.log, ... after restarts. */
    synchronized Path log() {
        return logDir.resolve(incarnation == 1 ? name + ".log" : name + "." + incarnation + ".log");
    }

    synchronized long pid() {
        return process.pid();
    }

    synchronized int incarnation() {
        return incarnation;
    }

    /** The exit code of a process that ended, as a phrase for a failure message. */
    synchronized String exitDescription() {
        return process.isAlive() ? "still running" : "exited with code " + process.exitValue();
    }

    /** Down without having been killed on purpose: it crashed or stopped by itself. */
    synchronized boolean exitedUnexpectedly() {
        return !killed && !process.isAlive();
    }

    /** SIGKILL, as a crash would; waits up to 10 s for the process to be gone. */
    void kill() throws InterruptedException {
        Process p;
        synchronized (this) {
            p = process;
            killed = true;
        }
        p.toHandle().destroyForcibly();
        if (!p.waitFor(10, TimeUnit.SECONDS)) throw new IllegalStateException(name + " (pid " + p.pid() + ") survived SIGKILL for 10 s");
    }

    /** Starts a new incarnation with the same command line, after the previous one has exited. */
    synchronized void restart() {
        if (process.isAlive()) throw new IllegalStateException(name + " is still running");
        startIncarnation();
        killed = false;
    }

    /** SIGTERM: the node drains its running streams and exits. */
    synchronized void terminate() {
        process.toHandle().destroy();
    }

    /** Waits until {@code deadlineNanos} for the process to exit, then SIGKILLs it. */
    void awaitExitOrKill(long deadlineNanos) throws InterruptedException {
        Process p;
        synchronized (this) {
            p = process;
        }
        if (!p.waitFor(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS)) {
            p.toHandle().destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Reads the current incarnation's memory and keeps it; null when the process has exited. */
    Sample sample(long atNanos) {
        long pid;
        int inc;
        synchronized (this) {
            if (!process.isAlive()) return null;  // its pid may belong to another process by now
            pid = process.pid();
            inc = incarnation;
        }
        ProcessMemory.Reading m = ProcessMemory.read(pid);
        if (m == null) return null;
        var s = new Sample(atNanos, inc, pid, m);
        synchronized (this) {
            samples.add(s);
        }
        return s;
    }

    synchronized List<Sample> samples() {
        return List.copyOf(samples);
    }
}
