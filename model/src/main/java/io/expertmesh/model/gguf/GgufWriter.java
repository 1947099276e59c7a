package io.expertmesh.model.gguf;

import io.expertmesh.model.safetensors.DType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Array;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes GGUF version 3 files that {@link GgufFile} and llama.cpp read: the header, the metadata in
 * the order given, one info per tensor, then each tensor's bytes at the next multiple of the alignment
 * ({@code general.alignment} when the metadata sets it, else 32). The header is laid out first; then
 * the file is mapped and each tensor's bytes are filled in place, so a tensor never passes through
 * the heap. Everything {@link GgufFile} would refuse is refused here before the file is created.
 */
public final class GgufWriter {
    /** A tensor to write: its name, element type and shape in PyTorch order (outermost dimension first). */
    public record Entry(String name, DType dtype, long[] shape) {
        public Entry {
            Objects.requireNonNull(name, "tensor name");
            GgmlType.of(dtype);
            if (shape.length > GgufFile.MAX_DIMS) {
                throw new IllegalArgumentException("tensor " + name + " has " + shape.length + " dimensions; GGUF allows at most " + GgufFile.MAX_DIMS);
            }
            shape = shape.clone();
            for (long d : shape) {
                if (d < 0) throw new IllegalArgumentException("tensor " + name + " has a negative dimension in " + Arrays.toString(shape));
            }
            long rowLength = shape.length > 0 ? shape[shape.length - 1] : 1;
            if (rowLength % dtype.blockElements() != 0) {
                throw new IllegalArgumentException("tensor " + name + " has rows of " + rowLength + " elements, not a whole number of "
                        + dtype + " blocks of " + dtype.blockElements());
            }
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        public long bytes() {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            return dtype.byteSize(n);
        }
    }

    /** Produces a tensor's bytes into {@code data} (exactly {@link Entry#bytes()} long). */
    @FunctionalInterface
    public interface Filler {
        void fill(Entry entry, MemorySegment data);
    }

    /** Where the header ends and each tensor starts, relative to the start of the data section. */
    public record Layout(byte[] header, long alignment, long dataOffset, long[] tensorOffsets, long fileSize) {}

    private GgufWriter() {}

    /** Lays out a file of this metadata and these tensors without writing it. */
    public static Layout layout(Map<String, GgufValue> metadata, List<Entry> tensors) {
        long alignment = alignment(metadata);
        var out = new LittleEndianBytes();
        out.u32(GgufFile.MAGIC);
        out.u32(GgufFile.VERSION);
        out.u64(tensors.size());
        out.u64(metadata.size());
        for (var kv : metadata.entrySet()) {
            out.string(Objects.requireNonNull(kv.getKey(), "metadata key"));
            GgufValue v = Objects.requireNonNull(kv.getValue(), () -> "metadata value of " + kv.getKey());
            out.u32(v.type().id());
            value(out, v);
        }
        Set<String> names = new HashSet<>();
        long[] offsets = new long[tensors.size()];
        long offset = 0;
        for (int i = 0; i < tensors.size(); i++) {
            Entry t = tensors.get(i);
            if (!names.add(t.name())) throw new IllegalArgumentException("duplicate tensor name " + t.name());
            out.string(t.name());
            long[] shape = t.shape();
            out.u32(shape.length);
            for (int d = shape.length - 1; d >= 0; d--) out.u64(shape[d]);
            out.u32(GgmlType.of(t.dtype()).id());
            out.u64(offset);
            offsets[i] = offset;
            offset = Math.addExact(offset, GgufFile.alignUp(t.bytes(), alignment));
        }
        byte[] header = out.toByteArray();
        long dataOffset = GgufFile.alignUp(header.length, alignment);
        return new Layout(header, alignment, dataOffset, offsets, Math.addExact(dataOffset, offset));
    }

    /** Writes {@code file}, replacing it if it exists; {@code filler} produces each tensor's bytes in place. */
    public static void write(Path file, Map<String, GgufValue> metadata, List<Entry> tensors, Filler filler) {
        Layout layout = layout(metadata, tensors);
        try (Arena arena = Arena.ofShared();
             FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                     StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_WRITE, 0, layout.fileSize(), arena);
            MemorySegment.copy(MemorySegment.ofArray(layout.header()), 0, seg, 0, layout.header().length);
            for (int i = 0; i < tensors.size(); i++) {
                Entry t = tensors.get(i);
                filler.fill(t, seg.asSlice(layout.dataOffset() + layout.tensorOffsets()[i], t.bytes()));
            }
            seg.force();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static long alignment(Map<String, GgufValue> metadata) {
        GgufValue v = metadata.get(GgufFile.ALIGNMENT_KEY);
        if (v == null) return GgufFile.DEFAULT_ALIGNMENT;
        long a = v.type() == GgufValueType.UINT32 ? v.integer() : 0;
        if (a == 0 || (a & (a - 1)) != 0) {
            throw new IllegalArgumentException(GgufFile.ALIGNMENT_KEY + " must be a UINT32 power of two, not " + v.type() + " " + v);
        }
        return a;
    }

    private static void value(LittleEndianBytes out, GgufValue v) {
        Object raw = v.raw();
        switch (v.type()) {
            case UINT8, INT8 -> out.u8((Byte) raw);
            case UINT16, INT16 -> out.u16((Short) raw);
            case UINT32, INT32 -> out.u32((Integer) raw);
            case UINT64, INT64 -> out.u64((Long) raw);
            case FLOAT32 -> out.u32(Float.floatToRawIntBits((Float) raw));
            case FLOAT64 -> out.u64(Double.doubleToRawLongBits((Double) raw));
            case BOOL -> out.u8((Boolean) raw ? 1 : 0);
            case STRING -> out.string((String) raw);
            case ARRAY -> {
                out.u32(v.elementType().id());
                int n = Array.getLength(raw);
                out.u64(n);
                switch (raw) {
                    case byte[] a -> out.bytes(a);
                    case short[] a -> { for (short x : a) out.u16(x); }
                    case int[] a -> { for (int x : a) out.u32(x); }
                    case long[] a -> { for (long x : a) out.u64(x); }
                    case float[] a -> { for (float x : a) out.u32(Float.floatToRawIntBits(x)); }
                    case double[] a -> { for (double x : a) out.u64(Double.doubleToRawLongBits(x)); }
                    case boolean[] a -> { for (boolean x : a) out.u8(x ? 1 : 0); }
                    case String[] a -> { for (String x : a) out.string(x); }
                    default -> throw new IllegalStateException("unexpected array " + raw.getClass());
                }
            }
        }
    }

    /** A growing little-endian byte buffer for the header. */
    private static final class LittleEndianBytes extends ByteArrayOutputStream {
        void u8(int v) {
            write(v);
        }

        void u16(int v) {
            write(v);
            write(v >>> 8);
        }

        void u32(int v) {
            u16(v);
            u16(v >>> 16);
        }

        void u64(long v) {
            u32((int) v);
            u32((int) (v >>> 32));
        }

        void bytes(byte[] b) {
            write(b, 0, b.length);
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b);
        }
    }
}
