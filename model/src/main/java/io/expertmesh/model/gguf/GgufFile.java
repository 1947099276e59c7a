package io.expertmesh.model.gguf;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.safetensors.MappedMemory;
import io.expertmesh.model.safetensors.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One memory-mapped GGUF file (versions 2 and 3, little-endian): the magic "GGUF", a u32 version, u64
 * tensor and metadata counts, the metadata key/values, one info per tensor (name, dimensions, GGML
 * type, offset), then the tensor data from the next multiple of {@code general.alignment}. Tensors
 * are exposed as {@link Tensor}s over the mapping, with GGML's innermost-first dimensions reversed
 * to PyTorch's order: a matrix stored as [ne0 = in, ne1 = out] reads as [out, in], as in safetensors.
 * The whole header is validated against the file before anything is handed out.
 */
public final class GgufFile {
    public static final String EXTENSION = ".gguf";
    public static final String ALIGNMENT_KEY = "general.alignment";
    public static final String ARCHITECTURE_KEY = "general.architecture";
    public static final int DEFAULT_ALIGNMENT = 32;
    public static final int MAGIC = 0x46554747;
    public static final int VERSION = 3;
    /** GGML's {@code GGML_MAX_DIMS}. */
    public static final int MAX_DIMS = 4;
    /** A tensor info without its name's bytes and dimensions: name length, dimension count, type, offset. */
    private static final int MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;
    /** A metadata entry with an empty key and a one-byte value. */
    private static final int MIN_KV_BYTES = 8 + 4 + 1;

    private final Path path;
    private final int version;
    private final GgufMetadata metadata;
    private final long alignment;
    private final long dataOffset;
    private final Map<String, Tensor> tensors;

    private GgufFile(Path path, int version, GgufMetadata metadata, long alignment, long dataOffset, Map<String, Tensor> tensors) {
        this.path = path;
        this.version = version;
        this.metadata = metadata;
        this.alignment = alignment;
        this.dataOffset = dataOffset;
        this.tensors = tensors;
    }

    /** Whether {@code path} is named like a GGUF file. */
    public static boolean isGgufName(Path path) {
        Path name = path.getFileName();
        return name != null && name.toString().toLowerCase(Locale.ROOT).endsWith(EXTENSION);
    }

    /** Maps {@code path} into {@code arena}; the tensors stay valid until the arena is closed. */
    public static GgufFile open(Path path, Arena arena) {
        MemorySegment file;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            MappedMemory.adviseHugePages(file);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(path + ": file not found");
        } catch (IOException e) {
            throw new ModelFormatException(path + ": cannot map: " + e.getMessage(), e);
        }
        var in = new GgufCursor(path, file);
        int magic = in.u32("the GGUF header");
        if (magic != MAGIC) {
            throw in.error("not a GGUF file: it starts with 0x" + String.format("%08x", Integer.reverseBytes(magic)) + ", not \"GGUF\"");
        }
        int version = in.u32("the GGUF header");
        if (version != 2 && version != 3) {
            boolean bigEndian = version != 0 && (version & 0xFFFF) == 0;
            throw in.error("GGUF version " + Integer.toUnsignedString(version) + " is not supported (only 2 and 3"
                    + (bigEndian ? "; this looks like a big-endian file, and only little-endian ones are read" : "") + ")");
        }
        long tensorCount = in.count("the tensor count", MIN_TENSOR_INFO_BYTES);
        long kvCount = in.count("the metadata count", MIN_KV_BYTES);
        GgufMetadata metadata = new GgufMetadata(path, readMetadata(in, kvCount));
        long alignment = alignment(path, metadata);
        List<TensorInfo> infos = readTensorInfos(in, tensorCount);
        long dataOffset = alignUp(in.position(), alignment);
        Map<String, Tensor> tensors = tensors(in, path, file, infos, alignment, dataOffset);
        return new GgufFile(path, version, metadata, alignment, dataOffset, tensors);
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public GgufMetadata metadata() {
        return metadata;
    }

    public long alignment() {
        return alignment;
    }

    /** Where the data section starts in the file. */
    public long dataOffset() {
        return dataOffset;
    }

    /** Every tensor under its GGUF name, in the order of the file. */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** The named tensor, or an error naming it and the file. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new ModelFormatException(path + ": missing tensor " + name);
        return t;
    }

    static long alignUp(long offset, long alignment) {
        return (offset + alignment - 1) / alignment * alignment;
    }

    private static Map<String, GgufValue> readMetadata(GgufCursor in, long count) {
        Map<String, GgufValue> values = new LinkedHashMap<>();
        for (long i = 0; i < count; i++) {
            String key = in.string("the name of metadata entry " + i);
            if (values.containsKey(key)) throw in.error("duplicate metadata key " + key);
            String what = "metadata key " + key;
            int typeId = in.u32(what);
            GgufValueType type = GgufValueType.byId(Integer.toUnsignedLong(typeId));
            if (type == null) throw in.error(what + " has unknown value type " + Integer.toUnsignedString(typeId));
            values.put(key, readValue(in, type, what));
        }
        return values;
    }

    private static GgufValue readValue(GgufCursor in, GgufValueType type, String what) {
        return switch (type) {
            case UINT8, INT8 -> GgufValue.read(type, null, in.u8(what));
            case UINT16, INT16 -> GgufValue.read(type, null, in.u16(what));
            case UINT32, INT32 -> GgufValue.read(type, null, in.u32(what));
            case UINT64, INT64 -> GgufValue.read(type, null, in.u64(what));
            case FLOAT32 -> GgufValue.read(type, null, in.f32(what));
            case FLOAT64 -> GgufValue.read(type, null, in.f64(what));
            case BOOL -> GgufValue.read(type, null, in.u8(what) != 0);
            case STRING -> GgufValue.read(type, null, in.string(what));
            case ARRAY -> {
                int elementId = in.u32(what + " (its element type)");
                GgufValueType element = GgufValueType.byId(Integer.toUnsignedLong(elementId));
                if (element == null) throw in.error(what + " is an array of unknown value type " + Integer.toUnsignedString(elementId));
                if (element == GgufValueType.ARRAY) throw in.error(what + " is an array of arrays, which GGUF readers do not support");
                long n = in.count(what + " (its element count)", element.minBytes());
                if (element != GgufValueType.STRING) yield GgufValue.read(type, element, in.primitives(element, n, what));
                String[] strings = new String[in.arrayLength(n, what)];
                for (int i = 0; i < strings.length; i++) strings[i] = in.string(what + " element " + i);
                yield GgufValue.read(type, element, strings);
            }
        };
    }

    private static long alignment(Path path, GgufMetadata metadata) {
        GgufValue v = metadata.find(ALIGNMENT_KEY).orElse(null);
        if (v == null) return DEFAULT_ALIGNMENT;
        if (v.type() != GgufValueType.UINT32) {
            throw new ModelFormatException(path + ": metadata key " + ALIGNMENT_KEY + " should be UINT32, but is " + v.type() + " " + v);
        }
        long a = v.integer();
        if (a == 0 || (a & (a - 1)) != 0) {
            throw new ModelFormatException(path + ": metadata key " + ALIGNMENT_KEY + " is " + a + ", not a power of two");
        }
        return a;
    }

    /** A tensor as its info describes it; {@code bytes} is filled in once the type and shape are checked. */
    private record TensorInfo(String name, long[] ne, DType dtype, long offset, long bytes) {}

    private static List<TensorInfo> readTensorInfos(GgufCursor in, long count) {
        List<TensorInfo> infos = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (long i = 0; i < count; i++) {
            String name = in.string("the name of tensor " + i);
            String what = "tensor " + name;
            if (!seen.add(name)) throw in.error("duplicate tensor name " + name);
            int dims = in.u32(what + " (its dimension count)");
            if (dims < 0 || dims > MAX_DIMS) {
                throw in.error(what + " has " + Integer.toUnsignedString(dims) + " dimensions; GGUF allows at most " + MAX_DIMS);
            }
            long[] ne = new long[dims];
            long elements = 1;
            for (int d = 0; d < dims; d++) {
                ne[d] = in.u64(what + " (its dimensions)");
                if (ne[d] < 0) throw in.error(what + " has dimension " + d + " of " + Long.toUnsignedString(ne[d]) + " elements, too many");
                elements = multiply(in, what, ne, elements, ne[d]);
            }
            int typeId = in.u32(what + " (its type)");
            GgmlType ggml = GgmlType.byId(Integer.toUnsignedLong(typeId));
            if (ggml == null) throw in.error(what + " has unknown GGML type id " + Integer.toUnsignedString(typeId));
            if (ggml.dtype() == null) {
                throw in.error(what + " has GGML type " + ggml + ", which is not supported (supported: " + GgmlType.supported() + ")");
            }
            DType dtype = ggml.dtype();
            long rowLength = dims > 0 ? ne[0] : 1;
            if (rowLength % dtype.blockElements() != 0) {
                throw in.error(what + " has rows of " + rowLength + " elements, not a whole number of " + dtype + " blocks of "
                        + dtype.blockElements());
            }
            long offset = in.u64(what + " (its data offset)");
            infos.add(new TensorInfo(name, ne, dtype, offset, dtype.byteSize(elements)));
        }
        return infos;
    }

    private static long multiply(GgufCursor in, String what, long[] ne, long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw in.error(what + " has dimensions " + Arrays.toString(ne) + " whose product overflows");
        }
    }

    private static Map<String, Tensor> tensors(GgufCursor in, Path path, MemorySegment file, List<TensorInfo> infos, long alignment, long dataOffset) {
        long dataSize = file.byteSize() - dataOffset;
        for (TensorInfo t : infos) {
            if (t.offset() < 0 || t.offset() % alignment != 0) {
                throw in.error("tensor " + t.name() + " has data offset " + Long.toUnsignedString(t.offset())
                        + ", not a multiple of the alignment " + alignment);
            }
            if (dataSize < 0 || t.offset() > dataSize || t.bytes() > dataSize - t.offset()) {
                throw in.error("truncated file: tensor " + t.name() + " needs bytes [" + t.offset() + ", " + (t.offset() + t.bytes())
                        + ") of the data section at byte " + dataOffset + ", but the file ends at byte " + file.byteSize());
            }
        }
        List<TensorInfo> byOffset = new ArrayList<>(infos);
        byOffset.removeIf(t -> t.bytes() == 0);
        byOffset.sort(Comparator.comparingLong(TensorInfo::offset));
        for (int i = 1; i < byOffset.size(); i++) {
            TensorInfo a = byOffset.get(i - 1), b = byOffset.get(i);
            if (b.offset() < a.offset() + a.bytes()) {
                throw in.error("tensors " + a.name() + " (bytes [" + a.offset() + ", " + (a.offset() + a.bytes()) + ")) and " + b.name()
                        + " (bytes [" + b.offset() + ", " + (b.offset() + b.bytes()) + ")) overlap in the data section");
            }
        }
        String fileName = path.getFileName().toString();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (TensorInfo t : infos) {
            long[] shape = new long[t.ne().length];
            for (int d = 0; d < shape.length; d++) shape[d] = t.ne()[shape.length - 1 - d];
            tensors.put(t.name(), new Tensor(t.name(), t.dtype(), shape, file.asSlice(dataOffset + t.offset(), t.bytes()), fileName));
        }
        return Collections.unmodifiableMap(tensors);
    }
}
