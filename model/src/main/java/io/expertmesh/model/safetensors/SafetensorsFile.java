package io.expertmesh.model.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.ModelFormatException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One memory-mapped safetensors file: an 8-byte little-endian header length, a JSON header naming
 * each tensor's dtype, shape and byte range, then the data. The header is validated against the
 * file before any tensor is handed out.
 */
public final class SafetensorsFile {
    private static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private final Map<String, Tensor> tensors;

    private SafetensorsFile(Map<String, Tensor> tensors) {
        this.tensors = tensors;
    }

    /** Maps {@code path} into {@code arena}; the tensors stay valid until the arena is closed. */
    public static SafetensorsFile open(Path path, Arena arena) {
        MemorySegment file;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new ModelFormatException(path + ": not a safetensors file (" + size + " bytes, shorter than its 8-byte header length)");
            file = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            MappedMemory.adviseHugePages(file);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(path + ": file not found");
        } catch (IOException e) {
            throw new ModelFormatException(path + ": cannot map: " + e.getMessage(), e);
        }
        long headerLen = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || headerLen > file.byteSize() - 8) {
            throw new ModelFormatException(path + ": bad safetensors header length " + Long.toUnsignedString(headerLen)
                    + " for a file of " + file.byteSize() + " bytes (truncated or not a safetensors file)");
        }
        byte[] headerBytes = file.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
        JsonNode header;
        try {
            header = Json.MAPPER.readTree(headerBytes);
        } catch (IOException e) {
            throw new ModelFormatException(path + ": safetensors header is not valid JSON: " + e.getMessage());
        }
        if (header == null || !header.isObject()) {
            throw new ModelFormatException(path + ": safetensors header is not a JSON object");
        }
        long dataStart = 8 + headerLen;
        long dataSize = file.byteSize() - dataStart;
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (var entry : header.properties()) {
            if (entry.getKey().equals("__metadata__")) continue;
            tensors.put(entry.getKey(), parseTensor(path, file, dataStart, dataSize, entry.getKey(), entry.getValue()));
        }
        return new SafetensorsFile(Collections.unmodifiableMap(tensors));
    }

    private static Tensor parseTensor(Path path, MemorySegment file, long dataStart, long dataSize, String name, JsonNode info) {
        String where = path + ": tensor " + name;
        if (!info.isObject()) throw new ModelFormatException(where + ": header entry is not an object");
        JsonNode dtypeNode = info.get("dtype");
        DType dtype = dtypeNode == null ? null : DType.fromHeader(dtypeNode.asText());
        if (dtype == null) throw new ModelFormatException(where + ": unknown dtype " + dtypeNode);
        JsonNode shapeNode = info.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) throw new ModelFormatException(where + ": missing shape");
        long[] shape = new long[shapeNode.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || d.asLong() < 0) throw new ModelFormatException(where + ": bad shape " + shapeNode);
            shape[i] = d.asLong();
            elements = Math.multiplyExact(elements, shape[i]);
        }
        JsonNode offsets = info.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2
                || !offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()) {
            throw new ModelFormatException(where + ": missing or malformed data_offsets");
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin) throw new ModelFormatException(where + ": bad data_offsets [" + begin + ", " + end + "]");
        if (end > dataSize) {
            throw new ModelFormatException(where + ": data ends at byte " + end + " but the file holds only "
                    + dataSize + " data bytes (truncated file?)");
        }
        long expected = Math.multiplyExact(elements, dtype.bytes());
        if (end - begin != expected) {
            throw new ModelFormatException(where + ": shape " + shapeNode + " of " + dtype + " needs " + expected
                    + " bytes but data_offsets span " + (end - begin));
        }
        return new Tensor(name, dtype, shape, file.asSlice(dataStart + begin, end - begin), path.getFileName().toString());
    }

    public Map<String, Tensor> tensors() {
        return tensors;
    }
}
