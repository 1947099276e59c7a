package io.expertmesh.model.gguf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** GGUF bytes laid down by hand, field by field, so that a test can write what no writer would. */
final class RawGguf {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** The magic, {@code version} and the two counts. */
    static RawGguf header(int version, long tensorCount, long kvCount) {
        return new RawGguf().u32(GgufFile.MAGIC).u32(version).u64(tensorCount).u64(kvCount);
    }

    RawGguf u8(int v) {
        out.write(v);
        return this;
    }

    RawGguf u32(long v) {
        for (int i = 0; i < 4; i++) out.write((int) (v >>> (8 * i)));
        return this;
    }

    RawGguf u64(long v) {
        for (int i = 0; i < 8; i++) out.write((int) (v >>> (8 * i)));
        return this;
    }

    RawGguf string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        u64(b.length);
        out.write(b, 0, b.length);
        return this;
    }

    RawGguf zeros(int n) {
        out.write(new byte[n], 0, n);
        return this;
    }

    RawGguf kvU32(String key, long value) {
        return string(key).u32(GgufValueType.UINT32.id()).u32(value);
    }

    RawGguf kvString(String key, String value) {
        return string(key).u32(GgufValueType.STRING.id()).string(value);
    }

    /** A tensor info: {@code ne} innermost first, as GGUF stores it. */
    RawGguf tensor(String name, long[] ne, int type, long offset) {
        string(name).u32(ne.length);
        for (long d : ne) u64(d);
        return u32(type).u64(offset);
    }

    /** Zeros up to the next multiple of {@code alignment}, where the data section starts. */
    RawGguf align(int alignment) {
        return zeros((int) (GgufFile.alignUp(out.size(), alignment) - out.size()));
    }

    Path write(Path dir, String name) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, out.toByteArray());
        return file;
    }
}
