package io.expertmesh.model.safetensors;

import io.expertmesh.model.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes safetensors files: the header is laid out first, then each tensor's bytes are filled in place. */
public final class SafetensorsWriter {
    /** A tensor to write. */
    public record Entry(String name, DType dtype, long[] shape) {
        public long bytes() {
            long n = dtype.bytes();
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        }
    }

    /** Produces a tensor's bytes into {@code data} (exactly {@link Entry#bytes()} long). */
    @FunctionalInterface
    public interface Filler {
        void fill(Entry entry, MemorySegment data);
    }

    private SafetensorsWriter() {}

    /** The header bytes for the entries, padded with spaces to a multiple of 8 as the format recommends. */
    public static byte[] header(List<Entry> entries, Map<String, String> metadata) {
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) header.put("__metadata__", metadata);
        long offset = 0;
        for (Entry e : entries) {
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("dtype", e.dtype().name());
            info.put("shape", e.shape());
            info.put("data_offsets", new long[] {offset, offset + e.bytes()});
            header.put(e.name(), info);
            offset += e.bytes();
        }
        byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) out[i] = ' ';
        return out;
    }

    public static void write(Path file, List<Entry> entries, Map<String, String> metadata, Filler filler) {
        byte[] header = header(entries, metadata);
        long size = 8L + header.length;
        for (Entry e : entries) size += e.bytes();
        try (Arena arena = Arena.ofShared();
             FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                     StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            seg.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, header.length);
            MemorySegment.copy(MemorySegment.ofArray(header), 0, seg, 8, header.length);
            long offset = 8L + header.length;
            for (Entry e : entries) {
                filler.fill(e, seg.asSlice(offset, e.bytes()));
                offset += e.bytes();
            }
            seg.force();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
