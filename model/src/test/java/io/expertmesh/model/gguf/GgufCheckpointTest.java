package io.expertmesh.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.TinyModel;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.engine.ForwardTrace;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.engine.ModelSource;
import io.expertmesh.model.engine.SequenceChunk;
import io.expertmesh.model.engine.SequenceKvCache;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.safetensors.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/** A GGUF file loads through {@link ModelSource} into the same model as the safetensors it was made from. */
class GgufCheckpointTest {
    @TempDir
    static Path shared;
    private static Path tinyGguf;
    private static ErnieConfig tinyConfig;
    private static LoadedModel fromDir;
    private static LoadedModel fromGguf;

    @TempDir
    Path tmp;

    @BeforeAll
    static void convertTheTinyModel() {
        tinyConfig = ErnieConfig.load(TinyModel.dir());
        tinyGguf = shared.resolve("tiny-ernie-4.5-moe.gguf");
        try (Checkpoint source = Checkpoint.open(TinyModel.dir())) {
            TinyGguf.write(tinyGguf, source, tinyConfig, TinyGguf.metadata(tinyConfig, true));
        }
        fromDir = LoadedModel.open(TinyModel.dir(), 2);
        fromGguf = LoadedModel.open(tinyGguf, 2);
    }

    @AfterAll
    static void close() {
        fromDir.close();
        fromGguf.close();
    }

    @TestFactory
    List<DynamicTest> theTinyModelAsGgufGivesTheSafetensorsLogitsExactlyForEveryReferenceCase() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : TinyModel.referenceJson().get("cases")) {
            tests.add(DynamicTest.dynamicTest(c.get("name").asText(), () -> {
                int[] ids = TinyModel.ints(c.get("input_ids"));
                assertArrayEquals(allLogits(fromDir, ids), allLogits(fromGguf, ids), c.get("name").asText());
            }));
        }
        return tests;
    }

    @Test
    void theConfigFromGgufMetadataEqualsConfigJson() {
        assertEquals(tinyConfig, ModelSource.of(tinyGguf).config());
    }

    @Test
    void llamaCppsConverterOutputLoadsToTheSameLogitsAsItsSource() {
        Path dir = Fixtures.resource("tiny-moe");
        Path gguf = Fixtures.resource("tiny-moe.gguf");
        assertEquals(ErnieConfig.load(dir), ModelSource.of(gguf).config());
        int[] prompt = {1, 17, 200, 3, 259, 42, 42, 7};
        try (LoadedModel a = LoadedModel.open(dir, 1); LoadedModel b = LoadedModel.open(gguf, 1)) {
            assertFalse(b.config().tieWordEmbeddings(), "output.weight is there, so the embeddings are not tied");
            assertArrayEquals(allLogits(a, prompt), allLogits(b, prompt));
        }
    }

    @Test
    void stackedExpertsAreSlicedPerExpertWithoutCopying() {
        Map<String, GgufValue> metadata = Map.of("general.architecture", GgufValue.string("ernie4_5-moe"));
        var stacked = new GgufWriter.Entry("blk.1.ffn_down_exps.weight", DType.Q4_K, new long[] {3, 2, 512});
        var bias = new GgufWriter.Entry("blk.1.exp_probs_b.bias", DType.F32, new long[] {3});
        Path file = tmp.resolve("experts.gguf");
        GgufWriter.write(file, metadata, List.of(bias, stacked), (e, data) -> {
            for (long i = 0; i < data.byteSize(); i++) data.set(ValueLayout.JAVA_BYTE, i, (byte) (i / 576));
        });
        try (Arena arena = Arena.ofConfined()) {
            GgufFile gguf = GgufFile.open(file, arena);
            Map<String, Tensor> hf = GgufCheckpoint.huggingFaceTensors(gguf);
            long base = gguf.tensor("blk.1.ffn_down_exps.weight").data().address();
            for (int e = 0; e < 3; e++) {
                Tensor t = hf.get("model.layers.1.mlp.experts." + e + ".down_proj.weight");
                assertEquals(DType.Q4_K, t.dtype());
                assertArrayEquals(new long[] {2, 512}, t.shape());
                assertEquals(2 * 2 * 144, t.data().byteSize(), "two rows of two Q4_K blocks");
                assertEquals(base + e * 576L, t.data().address(), "expert " + e + " is a view into the stacked tensor");
                assertEquals((byte) e, t.data().get(ValueLayout.JAVA_BYTE, 0));
                assertEquals((byte) e, t.data().get(ValueLayout.JAVA_BYTE, 575));
            }
            assertArrayEquals(new long[] {3}, hf.get("model.layers.1.mlp.moe_statics.e_score_correction_bias").shape());
            assertEquals(4, hf.size());
        }
    }

    @Test
    void everyLlamaCppNameMapsToTheHuggingFaceNameOfTheSameTensor() {
        try (Checkpoint source = Checkpoint.open(TinyModel.dir()); Checkpoint gguf = GgufCheckpoint.open(tinyGguf)) {
            assertEquals(source.names(), gguf.names());
            for (String name : source.names()) {
                Tensor a = source.tensor(name), b = gguf.tensor(name);
                assertEquals(a.dtype(), b.dtype(), name);
                assertArrayEquals(a.shape(), b.shape(), name);
                assertEquals(-1, a.data().mismatch(b.data()), name);
                assertEquals(name, b.name());
            }
        }
    }

    @Test
    void aFileOfAnotherArchitectureIsRefusedNamingIt() {
        Path file = tmp.resolve("llama.gguf");
        GgufWriter.write(file, Map.of("general.architecture", GgufValue.string("llama")), List.of(), (e, d) -> {});
        var e = assertThrows(ModelFormatException.class, () -> GgufCheckpoint.open(file));
        assertTrue(e.getMessage().startsWith(file + ": metadata key general.architecture is \"llama\"; only ernie4_5-moe"), e.getMessage());
        var c = assertThrows(ModelFormatException.class, () -> ModelSource.of(file).config());
        assertTrue(c.getMessage().contains("\"llama\""), c.getMessage());
    }

    @Test
    void aTensorNoErnieModelHasIsRefusedNamingIt() {
        Path file = tmp.resolve("bias.gguf");
        GgufWriter.write(file, Map.of("general.architecture", GgufValue.string("ernie4_5-moe")),
                List.of(new GgufWriter.Entry("blk.0.attn_q.bias", DType.F32, new long[] {8})), (e, d) -> {});
        var e = assertThrows(ModelFormatException.class, () -> GgufCheckpoint.open(file));
        assertEquals(file + ": tensor blk.0.attn_q.bias is not one of an ernie4_5-moe model", e.getMessage());
    }

    @Test
    void aMissingMetadataKeyNamesTheFileAndKey() {
        Map<String, GgufValue> metadata = TinyGguf.metadata(tinyConfig, true);
        metadata.remove("ernie4_5-moe.expert_count");
        Path file = tmp.resolve("no-experts.gguf");
        GgufWriter.write(file, metadata, List.of(), (e, d) -> {});
        var e = assertThrows(ModelFormatException.class, () -> ModelSource.of(file).config());
        assertEquals(file + ": metadata key ernie4_5-moe.expert_count is missing", e.getMessage());
    }

    @Test
    void absentOptionalKeysTakeLlamaCppsDefaults() {
        Map<String, GgufValue> metadata = TinyGguf.metadata(tinyConfig, true);
        metadata.remove("ernie4_5-moe.rope.freq_base");
        metadata.remove("ernie4_5-moe.attention.head_count_kv");
        metadata.remove("ernie4_5-moe.expert_shared_count");
        ErnieConfig c = configOf(metadata);
        assertEquals(10000.0, c.ropeTheta());
        assertEquals(c.numHeads(), c.numKvHeads());
        assertEquals(0, c.numSharedExperts());
    }

    @Test
    void whatConfigJsonWouldRefuseIsRefusedInGgufMetadataToo() {
        Map<String, GgufValue> tooMany = TinyGguf.metadata(tinyConfig, true);
        tooMany.put("ernie4_5-moe.expert_used_count", GgufValue.uint32(65));
        var e = assertThrows(ModelFormatException.class, () -> configOf(tooMany));
        assertTrue(e.getMessage().contains("no-tensors.gguf") && e.getMessage().contains("'moe_k' (65) exceeds 'moe_num_experts' (64)"), e.getMessage());
        Map<String, GgufValue> yarn = TinyGguf.metadata(tinyConfig, true);
        yarn.put("ernie4_5-moe.rope.scaling.type", GgufValue.string("yarn"));
        var scaling = assertThrows(ModelFormatException.class, () -> configOf(yarn));
        assertTrue(scaling.getMessage().endsWith("metadata key ernie4_5-moe.rope.scaling.type is \"yarn\"; rope scaling is not supported"),
                scaling.getMessage());
        Map<String, GgufValue> partial = TinyGguf.metadata(tinyConfig, true);
        partial.put("ernie4_5-moe.rope.dimension_count", GgufValue.uint32(8));
        var rope = assertThrows(ModelFormatException.class, () -> configOf(partial));
        assertTrue(rope.getMessage().contains("metadata key ernie4_5-moe.rope.dimension_count is 8, not 16"), rope.getMessage());
        Map<String, GgufValue> wrongType = TinyGguf.metadata(tinyConfig, true);
        wrongType.put("ernie4_5-moe.block_count", GgufValue.string("four"));
        var type = assertThrows(ModelFormatException.class, () -> configOf(wrongType));
        assertTrue(type.getMessage().endsWith("metadata key ernie4_5-moe.block_count should be an integer that fits in 32 bits, but is STRING \"four\""),
                type.getMessage());
    }

    @Test
    void withoutATokenListTheVocabularyIsTheEmbeddingsRowCount() {
        Path file = tmp.resolve("no-tokens.gguf");
        try (Checkpoint source = Checkpoint.open(TinyModel.dir())) {
            TinyGguf.write(file, source, tinyConfig, TinyGguf.metadata(tinyConfig, false));
        }
        assertEquals(tinyConfig, ModelSource.of(file).config());
    }

    @Test
    void aGgufFilesOwnTokenizerMetadataWinsOverHuggingFaceFilesBesideIt() throws IOException {
        Path file = Files.copy(tinyGguf, tmp.resolve("ernie-q8.gguf"));
        ModelSource source = ModelSource.of(file);
        assertEquals("ernie-q8", source.id());
        for (String name : List.of("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")) {
            Files.copy(TinyModel.dir().resolve(name), tmp.resolve(name));
        }
        // The file's token list has no scores: it is refused, not replaced by the tokenizer.json beside it.
        var e = assertThrows(ModelFormatException.class, source::tokenizer);
        assertEquals(file + ": metadata key tokenizer.ggml.scores is missing", e.getMessage());
        assertNotNull(source.chatTemplate(), "without tokenizer.chat_template, chat_template.jinja beside the file");
    }

    @Test
    void aPathThatIsNeitherADirectoryNorAGgufFileIsRefused() throws IOException {
        Path other = Files.writeString(tmp.resolve("model.bin"), "x");
        assertThrows(ModelFormatException.class, () -> ModelSource.of(other));
        var missing = assertThrows(ModelFormatException.class, () -> ModelSource.of(tmp.resolve("absent.gguf")));
        assertTrue(missing.getMessage().contains("not found"), missing.getMessage());
        assertFalse(ModelSource.of(TinyModel.dir()).isGguf());
    }

    /** The config of a GGUF file holding {@code metadata} and no tensors. */
    private ErnieConfig configOf(Map<String, GgufValue> metadata) {
        Path file = tmp.resolve("no-tensors.gguf");
        GgufWriter.write(file, metadata, List.of(), (e, d) -> {});
        return ModelSource.of(file).config();
    }

    /** Logits at every position of {@code ids}, flattened. */
    private static float[] allLogits(LoadedModel m, int[] ids) {
        var hidden = m.model().forward(List.of(new SequenceChunk(new SequenceKvCache(m.config()), 0, ids)), ForwardTrace.NONE);
        int[] positions = new int[ids.length];
        for (int i = 0; i < positions.length; i++) positions[i] = i;
        return m.model().logits(hidden, positions).data();
    }
}
