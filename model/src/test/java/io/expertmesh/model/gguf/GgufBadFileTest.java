package io.expertmesh.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.ModelFormatException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way a GGUF file can be bad is one line naming the file and, where there is one, the key or tensor. */
class GgufBadFileTest {
    private static final int F32 = 0;
    private static final int STRING = GgufValueType.STRING.id();
    private static final int ARRAY = GgufValueType.ARRAY.id();

    @TempDir
    Path tmp;

    @Test
    void aWellFormedHandMadeFileReadsBack() throws IOException {
        Path file = RawGguf.header(3, 2, 1).kvU32("general.alignment", 16)
                .tensor("a", new long[] {3, 2}, F32, 0)
                .tensor("b", new long[] {1}, F32, 32)
                .align(16).zeros(36).write(tmp, "ok.gguf");
        try (Arena arena = Arena.ofConfined()) {
            GgufFile gguf = GgufFile.open(file, arena);
            assertArrayEquals(new long[] {2, 3}, gguf.tensor("a").shape(), "ne [3, 2] is a 2 x 3 matrix");
            assertEquals(24, gguf.tensor("a").data().byteSize());
            assertEquals(gguf.tensor("a").data().address() + 32, gguf.tensor("b").data().address());
        }
    }

    @Test
    void anEmptyFileIsATruncatedHeader() throws IOException {
        assertRefused(new RawGguf().write(tmp, "empty.gguf"), "truncated file", "the GGUF header");
    }

    @Test
    void aTruncatedHeaderNamesTheCountItEndsIn() throws IOException {
        assertRefused(new RawGguf().u32(GgufFile.MAGIC).u32(3).zeros(3).write(tmp, "short.gguf"), "truncated file", "the tensor count");
    }

    @Test
    void aFileWithoutTheMagicIsNotGguf() throws IOException {
        Path file = new RawGguf().u32(0x4c4d4747).u32(3).u64(0).u64(0).write(tmp, "ggml.gguf");
        assertRefused(file, "not a GGUF file", "0x47474d4c");
    }

    @Test
    void versionsOtherThanTwoAndThreeAreRefused() throws IOException {
        assertRefused(RawGguf.header(1, 0, 0).write(tmp, "v1.gguf"), "GGUF version 1 is not supported");
        assertRefused(RawGguf.header(4, 0, 0).write(tmp, "v4.gguf"), "GGUF version 4 is not supported");
        assertRefused(RawGguf.header(3 << 24, 0, 0).write(tmp, "be.gguf"), "big-endian");
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(2, GgufFile.open(RawGguf.header(2, 0, 0).write(tmp, "v2.gguf"), arena).version());
        }
    }

    @Test
    void aTruncatedMetadataValueNamesItsKey() throws IOException {
        Path file = RawGguf.header(3, 0, 1).string("test.count").u32(GgufValueType.UINT32.id()).zeros(2).write(tmp, "kv.gguf");
        assertRefused(file, "truncated file", "metadata key test.count");
    }

    @Test
    void aStringLongerThanTheRestOfTheFileNamesItsKey() throws IOException {
        Path file = RawGguf.header(3, 0, 1).string("general.name").u32(STRING).u64(1000).zeros(10).write(tmp, "str.gguf");
        assertRefused(file, "metadata key general.name", "a string of 1000 bytes", "longer than the 10 bytes left");
    }

    @Test
    void aKeyNameLongerThanTheRestOfTheFileIsRefusedBeforeItIsRead() throws IOException {
        assertRefused(RawGguf.header(3, 0, 1).u64(1L << 40).zeros(8).write(tmp, "key.gguf"), "the name of metadata entry 0", "a string of 1099511627776");
    }

    @Test
    void countsTheFileCannotHoldAreRefusedBeforeAnythingIsAllocated() throws IOException {
        assertRefused(RawGguf.header(3, 1L << 40, 0).write(tmp, "tensors.gguf"), "the tensor count is 1099511627776");
        assertRefused(RawGguf.header(3, 0, -1).write(tmp, "kvs.gguf"), "the metadata count is 18446744073709551615");
        Path array = RawGguf.header(3, 0, 1).string("tokenizer.ggml.tokens").u32(ARRAY).u32(STRING).u64(1L << 50).zeros(64)
                .write(tmp, "array.gguf");
        assertRefused(array, "metadata key tokenizer.ggml.tokens (its element count) is 1125899906842624", "hold at most 8");
        Path ints = RawGguf.header(3, 0, 1).string("test.ints").u32(ARRAY).u32(GgufValueType.INT32.id()).u64(5).zeros(16)
                .write(tmp, "ints.gguf");
        assertRefused(ints, "metadata key test.ints (its element count) is 5", "hold at most 4");
    }

    @Test
    void anArrayOfArraysIsRefusedNamingItsKey() throws IOException {
        Path file = RawGguf.header(3, 0, 1).string("test.nested").u32(ARRAY).u32(ARRAY).u64(1).zeros(16).write(tmp, "nested.gguf");
        assertRefused(file, "metadata key test.nested is an array of arrays");
    }

    @Test
    void anUnknownValueTypeNamesItsKey() throws IOException {
        assertRefused(RawGguf.header(3, 0, 1).string("test.odd").u32(13).zeros(8).write(tmp, "odd.gguf"), "metadata key test.odd has unknown value type 13");
        Path element = RawGguf.header(3, 0, 1).string("test.odd").u32(ARRAY).u32(99).u64(0).write(tmp, "element.gguf");
        assertRefused(element, "metadata key test.odd is an array of unknown value type 99");
    }

    @Test
    void aDuplicateKeyIsRefused() throws IOException {
        assertRefused(RawGguf.header(3, 0, 2).kvU32("test.k", 1).kvU32("test.k", 2).write(tmp, "dup.gguf"), "duplicate metadata key test.k");
    }

    @Test
    void anAlignmentThatIsNotAUint32PowerOfTwoIsRefused() throws IOException {
        assertRefused(RawGguf.header(3, 0, 1).kvU32("general.alignment", 48).write(tmp, "a48.gguf"), "general.alignment is 48, not a power of two");
        assertRefused(RawGguf.header(3, 0, 1).kvU32("general.alignment", 0).write(tmp, "a0.gguf"), "general.alignment is 0");
        assertRefused(RawGguf.header(3, 0, 1).kvString("general.alignment", "32").write(tmp, "as.gguf"), "general.alignment should be UINT32");
    }

    @Test
    void aTruncatedTensorInfoNamesTheTensor() throws IOException {
        Path file = RawGguf.header(3, 1, 0).string("blk.0.attn_q.weight").u32(2).u64(32).write(tmp, "info.gguf");
        assertRefused(file, "truncated file", "tensor blk.0.attn_q.weight (its dimensions)");
    }

    @Test
    void moreThanFourDimensionsAreRefusedNamingTheTensor() throws IOException {
        Path file = RawGguf.header(3, 1, 0).tensor("t5", new long[] {1, 1, 1, 1, 1}, F32, 0).align(32).zeros(32).write(tmp, "dims.gguf");
        assertRefused(file, "tensor t5 has 5 dimensions; GGUF allows at most 4");
    }

    @Test
    void dimensionsWhoseProductOverflowsAreRefused() throws IOException {
        Path file = RawGguf.header(3, 1, 0).tensor("huge", new long[] {1L << 62, 4}, F32, 0).write(tmp, "overflow.gguf");
        assertRefused(file, "tensor huge has dimensions", "overflows");
    }

    @Test
    void typesWithoutKernelsOrReaderAreRefusedByName() throws IOException {
        assertRefused(oneTensor("q5k.gguf", "blk.3.ffn_down_exps.weight", new long[] {256, 4}, 13, 0), "tensor blk.3.ffn_down_exps.weight has GGML type Q5_K");
        assertRefused(oneTensor("iq2.gguf", "t", new long[] {256}, 16, 0), "GGML type IQ2_XXS, which is not supported (supported: F32, F16, Q4_0, Q8_0, Q4_K, Q6_K, BF16)");
        assertRefused(oneTensor("q41.gguf", "t", new long[] {32}, 3, 0), "GGML type Q4_1");
        assertRefused(oneTensor("i32.gguf", "t", new long[] {4}, 26, 0), "GGML type I32");
        assertRefused(oneTensor("unknown.gguf", "t", new long[] {4}, 99, 0), "tensor t has unknown GGML type id 99");
    }

    @Test
    void aQuantizedRowThatIsNotWholeBlocksIsRefused() throws IOException {
        assertRefused(oneTensor("rows.gguf", "w", new long[] {48, 2}, GgmlType.Q8_0.id(), 0),
                "tensor w has rows of 48 elements, not a whole number of Q8_0 blocks of 32");
    }

    @Test
    void anOffsetOffTheAlignmentIsRefusedNamingTheTensor() throws IOException {
        assertRefused(oneTensor("offset.gguf", "blk.0.attn_k.weight", new long[] {8}, F32, 4),
                "tensor blk.0.attn_k.weight has data offset 4, not a multiple of the alignment 32");
    }

    @Test
    void overlappingTensorsAreRefusedNamingBoth() throws IOException {
        Path file = RawGguf.header(3, 2, 0).tensor("first", new long[] {16}, F32, 0).tensor("second", new long[] {16}, F32, 32)
                .align(32).zeros(128).write(tmp, "overlap.gguf");
        assertRefused(file, "tensors first (bytes [0, 64)) and second (bytes [32, 96)) overlap");
    }

    @Test
    void aDuplicateTensorNameIsRefused() throws IOException {
        Path file = RawGguf.header(3, 2, 0).tensor("same", new long[] {8}, F32, 0).tensor("same", new long[] {8}, F32, 32)
                .align(32).zeros(64).write(tmp, "dupt.gguf");
        assertRefused(file, "duplicate tensor name same");
    }

    @Test
    void aTruncatedFileNamesTheTensorItEndsIn() throws IOException {
        Path file = RawGguf.header(3, 2, 0).tensor("whole", new long[] {8}, F32, 0).tensor("cut", new long[] {16}, F32, 32)
                .align(32).zeros(32 + 40).write(tmp, "cut.gguf");
        assertRefused(file, "truncated file: tensor cut needs bytes [32, 96) of the data section");
    }

    @Test
    void aFileCutBeforeItsDataSectionNamesTheFirstTensor() throws IOException {
        Path file = RawGguf.header(3, 1, 0).tensor("only", new long[] {8}, F32, 0).write(tmp, "nodata.gguf");
        assertRefused(file, "truncated file: tensor only");
    }

    private Path oneTensor(String fileName, String name, long[] ne, int type, long offset) throws IOException {
        return RawGguf.header(3, 1, 0).tensor(name, ne, type, offset).align(32).zeros(4096).write(tmp, fileName);
    }

    private static void assertRefused(Path file, String... parts) throws IOException {
        assertTrue(Files.exists(file));
        var e = assertThrows(ModelFormatException.class, () -> {
            try (Arena arena = Arena.ofConfined()) {
                GgufFile.open(file, arena);
            }
        });
        String m = e.getMessage();
        assertTrue(m.startsWith(file + ": "), "names the file: " + m);
        assertFalse(m.contains("\n"), "one line: " + m);
        for (String part : parts) assertTrue(m.contains(part), "\"" + part + "\" in: " + m);
    }
}
