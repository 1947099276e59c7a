package io.expertmesh.tools;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The memory of a process on this machine, read from outside it: its resident set from
 * {@code /proc/PID/status}, and, for a HotSpot JVM, its heap from the perf-data file that {@code jstat}
 * reads ({@code /tmp/hsperfdata_USER/PID}), so no port, agent or extra process is needed.
 */
final class ProcessMemory {
    private static final int PERF_DATA_MAGIC = 0xcafec0c0;
    private static final String GENERATION = "sun.gc.generation.";

    /** Heap bytes in use and committed, summed over the collector's generations. */
    record Heap(long usedBytes, long committedBytes) {}

    /** One reading: RSS in bytes, and the heap, or null where the process exports no perf data. */
    record Reading(long rssBytes, Heap heap) {}

    private ProcessMemory() {}

    /** The process's memory now, or null once it has exited. */
    static Reading read(long pid) {
        long rss;
        try {
            rss = vmRssBytes(Files.readString(Path.of("/proc", Long.toString(pid), "status")));
        } catch (IOException e) {
            return null;
        }
        if (rss < 0) return null;  // a zombie has no VmRSS line
        Heap heap;
        try {
            byte[] perf = Files.readAllBytes(Path.of("/tmp", "hsperfdata_" + System.getProperty("user.name"), Long.toString(pid)));
            heap = heap(ByteBuffer.wrap(perf));
        } catch (IOException e) {
            heap = null;
        }
        return new Reading(rss, heap);
    }

    /** VmRSS of a {@code /proc/PID/status} text in bytes; -1 when it has none. */
    static long vmRssBytes(String status) {
        for (String line : status.split("\n")) {
            if (!line.startsWith("VmRSS:")) continue;
            String[] valueAndUnit = line.substring("VmRSS:".length()).trim().split("\\s+");
            long value = Long.parseLong(valueAndUnit[0]);
            // The kernel writes kB (KiB) here; no other unit occurs.
            if (valueAndUnit.length != 2 || !valueAndUnit[1].equals("kB")) throw new IllegalArgumentException("VmRSS in an unknown unit: " + line);
            return value * 1024;
        }
        return -1;
    }

    /**
     * The heap of a HotSpot perf-data buffer: used is the sum of the {@code sun.gc.generation.G.space.S.used}
     * counters, committed the sum of {@code sun.gc.generation.G.capacity}. Null when the buffer is not perf data,
     * is not ready yet, or has no generation counters (a collector without generations, such as ZGC).
     */
    static Heap heap(ByteBuffer perf) {
        // The prologue (HotSpot's PerfDataPrologue): magic, always big-endian, then the byte order of the rest.
        if (perf.remaining() < 32 || perf.getInt(0) != PERF_DATA_MAGIC) return null;
        ByteBuffer b = perf.duplicate().order(perf.get(4) == 0 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        boolean accessible = b.get(7) != 0;
        int entryOffset = b.getInt(24);
        int entries = b.getInt(28);
        if (!accessible) return null;
        long used = 0;
        long committed = 0;
        boolean found = false;
        int at = entryOffset;
        for (int i = 0; i < entries && at >= 0 && at + 20 <= b.limit(); i++) {
            // An entry (PerfDataEntry): its length, where its name and data start, its vector length and type.
            int length = b.getInt(at);
            int nameOffset = b.getInt(at + 4);
            int vectorLength = b.getInt(at + 8);
            byte type = b.get(at + 12);
            int dataOffset = b.getInt(at + 16);
            if (length <= 0) break;
            if (type == 'J' && vectorLength == 0 && at + dataOffset + 8 <= b.limit()) {
                String name = cString(b, at + nameOffset);
                if (name.startsWith(GENERATION)) {
                    if (name.endsWith(".used") && name.contains(".space.")) {
                        used += b.getLong(at + dataOffset);
                        found = true;
                    } else if (name.endsWith(".capacity") && name.indexOf('.', GENERATION.length()) == name.length() - ".capacity".length()) {
                        committed += b.getLong(at + dataOffset);
                    }
                }
            }
            at += length;
        }
        return found ? new Heap(used, committed) : null;
    }

    private static String cString(ByteBuffer b, int from) {
        int end = from;
        while (end < b.limit() && b.get(end) != 0) end++;
        byte[] bytes = new byte[end - from];
        b.get(from, bytes);
        return new String(bytes, StandardCharsets.US_ASCII);
    }
}
