package io.expertmesh.cluster;

import io.expertmesh.protocol.ClusterCertificates;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A {@code mesh node} in its own JVM on loopback, started by a test, with its log kept for assertions. */
final class NodeProcess implements AutoCloseable {
    final String name;
    final int clusterPort;
    final int httpPort;
    private final Process process;
    private final List<String> log = new ArrayList<>();
    private final Thread reader;

    private NodeProcess(String name, int clusterPort, int httpPort, Process process) {
        this.name = name;
        this.clusterPort = clusterPort;
        this.httpPort = httpPort;
        this.process = process;
        this.reader = Thread.ofPlatform().daemon().start(this::readLog);
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One CA per test JVM in a temporary directory; each node gets its own keys from it. */
    private static Path keyDirectory;
    private static ClusterCertificates.Authority authority;

    /** The keys of node {@code name}, made on first use. */
    static synchronized Path keys(String name) {
        try {
            if (keyDirectory == null) {
                keyDirectory = Files.createTempDirectory("expertmesh-test-keys-");
                authority = ClusterCertificates.authority(keyDirectory, Duration.ofDays(1));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path dir = keyDirectory.resolve(name);
        return Files.isDirectory(dir) ? dir : ClusterCertificates.node(keyDirectory, authority, name, Duration.ofDays(1));
    }

    /** Starts a node with its cluster keys; {@code seedPort} is the cluster port of the first node (its own port for the first one). */
    static NodeProcess start(String name, String roles, int seedPort, int clusterPort, String... jvmOptions) {
        int http = roles.contains("gateway") ? freePort() : -1;
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-Xmx512m"));
        cmd.addAll(List.of(jvmOptions));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), MeshMain.class.getName(), "node",
                "--roles", roles, "--model", TestServer.MODEL.toString(), "--cluster-port", Integer.toString(clusterPort),
                "--seed-nodes", "127.0.0.1:" + seedPort, "--threads", "1", "--cluster-keys", keys(name).toString()));
        if (http > 0) cmd.addAll(List.of("--http-port", Integer.toString(http)));
        try {
            return new NodeProcess(name, clusterPort, http, new ProcessBuilder(cmd).redirectErrorStream(true).start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start node " + name, e);
        }
    }

    private void readLog() {
        try (var in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                synchronized (log) {
                    log.add(line);
                }
            }
        } catch (IOException e) {
            synchronized (log) {
                log.add("(log ended: " + e + ")");
            }
        }
    }

    String address() {
        return "pekko://expertmesh@127.0.0.1:" + clusterPort;
    }

    String log() {
        synchronized (log) {
            return String.join("\n", log);
        }
    }

    boolean logContains(String fragment) {
        synchronized (log) {
            return log.stream().anyMatch(l -> l.contains(fragment));
        }
    }

    /** SIGTERM: a graceful leave. Process.destroy() would also close the pipe the log comes through. */
    void terminate() {
        process.toHandle().destroy();
    }

    /** SIGKILL: a crash. */
    void kill() {
        process.toHandle().destroyForcibly();
    }

    /** SIGSTOP, then SIGCONT after {@code pause}: a stall (a long GC pause, a starved CPU) that the node does not notice. */
    void stop(Duration pause) throws IOException, InterruptedException {
        signal("STOP");
        try {
            Thread.sleep(pause);
        } finally {
            signal("CONT");
        }
    }

    private void signal(String name) throws IOException, InterruptedException {
        int exit = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start().waitFor();
        if (exit != 0) throw new IOException("kill -" + name + " " + process.pid() + " exited with " + exit);
    }

    boolean awaitExit(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            terminate();
            if (!awaitExit(Duration.ofSeconds(20))) kill();
        }
        reader.join(2000);
    }
}
