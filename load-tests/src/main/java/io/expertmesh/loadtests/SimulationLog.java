package io.expertmesh.loadtests;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the binary {@code simulation.log} that Gatling 3.15 writes next to its HTML report (the format of
 * {@code io.gatling.core.stats.writer.LogFileDataWriter}): a run header, then user, request, group and error
 * records with times relative to the run start. Big-endian ints; strings as length, the JDK's internal bytes
 * and a coder byte (0 = Latin-1, 1 = UTF-16 in native order); repeated strings as back-references.
 */
public final class SimulationLog {
    /** The Gatling version whose format this reader knows. */
    public static final String FORMAT_VERSION = "3.15.1";

    private static final byte RUN = 0;
    private static final byte REQUEST = 1;
    private static final byte USER = 2;
    private static final byte GROUP = 3;
    private static final byte ERROR = 4;

    /** A request or check: {@code end - start} is what Gatling reports as its response time. */
    public record Request(List<String> groups, String name, long start, long end, boolean ok, String message) {
        public long responseTime() {
            return end - start;
        }
    }

    /** A group execution; {@code cumulated} is the sum of its requests' response times (Gatling's default group metric). */
    public record Group(List<String> path, long start, long end, int cumulated, boolean ok) {}

    public final String gatlingVersion;
    public final String simulationClass;
    public final long runStart;
    public final List<String> scenarios = new ArrayList<>();
    public final List<Request> requests = new ArrayList<>();
    public final List<Group> groups = new ArrayList<>();
    public final List<String> errors = new ArrayList<>();
    public int usersStarted;
    public int usersEnded;
    /** Latest end (or start) time of any record, relative to {@link #runStart}. */
    public long lastEventOffset;

    private final DataInputStream in;
    private final Map<Integer, String> cache = new HashMap<>();

    private SimulationLog(InputStream raw) throws IOException {
        in = new DataInputStream(new BufferedInputStream(raw));
        if (in.readByte() != RUN) throw new IOException("not a Gatling simulation.log (no run record first)");
        gatlingVersion = readString();
        if (!gatlingVersion.equals(FORMAT_VERSION)) {
            throw new IOException("simulation.log was written by Gatling " + gatlingVersion + "; this reader knows " + FORMAT_VERSION);
        }
        simulationClass = readString();
        runStart = in.readLong();
        readString(); // run description
        int n = in.readInt();
        for (int i = 0; i < n; i++) scenarios.add(readString());
        int assertions = in.readInt();
        for (int i = 0; i < assertions; i++) in.skipNBytes(in.readInt());
        readRecords();
    }

    public static SimulationLog read(Path file) throws IOException {
        try (InputStream is = Files.newInputStream(file)) {
            return new SimulationLog(is);
        }
    }

    public static SimulationLog read(InputStream is) throws IOException {
        return new SimulationLog(is);
    }

    private void readRecords() throws IOException {
        while (true) {
            int header = in.read();
            if (header < 0) return;
            switch ((byte) header) {
                case USER -> {
                    in.readInt(); // scenario index
                    boolean start = in.readBoolean();
                    long t = in.readInt();
                    if (start) usersStarted++;
                    else usersEnded++;
                    lastEventOffset = Math.max(lastEventOffset, t);
                }
                case REQUEST -> {
                    List<String> g = readGroups();
                    String name = readCached();
                    long start = in.readInt();
                    long end = in.readInt();
                    boolean ok = in.readBoolean();
                    String message = readCached();
                    requests.add(new Request(g, name, start, end, ok, message));
                    lastEventOffset = Math.max(lastEventOffset, end);
                }
                case GROUP -> {
                    List<String> g = readGroups();
                    long start = in.readInt();
                    long end = in.readInt();
                    int cumulated = in.readInt();
                    boolean ok = in.readBoolean();
                    groups.add(new Group(g, start, end, cumulated, ok));
                    lastEventOffset = Math.max(lastEventOffset, end);
                }
                case ERROR -> {
                    errors.add(readCached());
                    lastEventOffset = Math.max(lastEventOffset, in.readInt());
                }
                default -> throw new IOException("unknown record type " + header + " in simulation.log");
            }
        }
    }

    private List<String> readGroups() throws IOException {
        int n = in.readInt();
        List<String> g = new ArrayList<>(n);
        for (int i = 0; i < n; i++) g.add(readCached());
        return List.copyOf(g);
    }

    private String readCached() throws IOException {
        int index = in.readInt();
        if (index >= 0) {
            String s = readString();
            cache.put(index, s);
            return s;
        }
        String s = cache.get(-index);
        if (s == null) throw new IOException("simulation.log refers to an unknown string #" + (-index));
        return s;
    }

    private String readString() throws IOException {
        int length = in.readInt();
        if (length == 0) return "";
        if (length < 0) throw new EOFException("bad string length " + length);
        byte[] value = in.readNBytes(length);
        if (value.length != length) throw new EOFException("truncated string");
        int coder = in.readByte();
        if (coder == 0) return new String(value, StandardCharsets.ISO_8859_1);
        return new String(value, ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN
                ? StandardCharsets.UTF_16LE : StandardCharsets.UTF_16BE);
    }

    /** Requests (or checks) with this name whose group path is {@code groups}. */
    public List<Request> requests(List<String> groupPath, String name) {
        return requests.stream().filter(r -> r.name().equals(name) && r.groups().equals(groupPath)).toList();
    }

    /** Executions of the group at this path. */
    public List<Group> groups(List<String> path) {
        return groups.stream().filter(g -> g.path().equals(path)).toList();
    }
}
