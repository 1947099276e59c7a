package io.expertmesh.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.TinyModel;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.engine.ModelSource;
import io.expertmesh.model.kernels.ParallelRunner;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.safetensors.Tensor;
import io.expertmesh.model.tokenizer.ChatMessage;
import io.expertmesh.model.tokenizer.ChatTemplate;
import io.expertmesh.model.tokenizer.Tokenizer;
import io.expertmesh.model.weights.Quantize;
import io.expertmesh.model.weights.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The tiny model written as a quantized GGUF file and read back: each tensor has the type
 * {@link GgufFileType} gives it, and holds exactly what {@link Quantize} makes of the checkpoint's rows
 * (F32 for the tensors kept unquantized); the tokenizer and chat template inside the file match
 * transformers on tokenizer_reference.json.
 */
class GgufModelWriterTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(GgufFileType.class)
    void everyTensorHasItsFileTypesTypeAndQuantizesTheCheckpointsRowsExactly(GgufFileType type) {
        Path file = QuantizedGguf.writeTiny(tmp, type);
        ErnieConfig config = ErnieConfig.load(TinyModel.dir());
        GgufLayout layout = GgufLayout.of(config, type);
        try (Arena arena = Arena.ofConfined(); Checkpoint checkpoint = Checkpoint.open(TinyModel.dir())) {
            Map<String, Tensor> written = GgufFile.open(file, arena).tensors();
            assertEquals(layout.tensors().size(), written.size());
            for (GgufLayout.PlannedTensor planned : layout.tensors()) {
                Tensor t = written.get(planned.name());
                DType expected = type.tensorType(planned.name(), planned.shape(), config.numLayers(), config.tieWordEmbeddings()).type();
                assertEquals(expected, t.dtype(), planned.name());
                assertArrayEquals(planned.shape(), t.shape(), planned.name());
                long perSource = t.data().byteSize() / planned.sources().size();
                for (int s = 0; s < planned.sources().size(); s++) {
                    MemorySegment expectedBytes = converted(checkpoint.tensor(planned.sources().get(s)), expected, perSource, arena);
                    long mismatch = t.data().asSlice(s * perSource, perSource).mismatch(expectedBytes);
                    assertEquals(-1, mismatch, planned.name() + " from " + planned.sources().get(s) + " differs at byte " + mismatch);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(GgufFileType.class)
    void theWrittenTokenizerAndChatTemplateMatchTransformers(GgufFileType type) {
        ModelSource source = ModelSource.of(QuantizedGguf.writeTiny(tmp, type));
        Tokenizer tokenizer = source.tokenizer();
        ChatTemplate template = source.chatTemplate();
        JsonNode reference = TinyModel.tokenizerReference();
        for (JsonNode c : reference.get("tokenize")) {
            int[] ids = TinyModel.ints(c.get("ids"));
            String text = c.get("text").asText();
            assertArrayEquals(ids, tokenizer.encode(text), Json.write(text));
            assertEquals(c.get("decoded").asText(), tokenizer.decode(ids, false), Json.write(text));
        }
        for (JsonNode c : reference.get("chat")) {
            List<ChatMessage> messages = new ArrayList<>();
            for (JsonNode m : c.get("messages")) messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
            String rendered = template.render(messages, true);
            assertEquals(c.get("rendered").asText(), rendered);
            assertArrayEquals(TinyModel.ints(c.get("ids")), tokenizer.encode(rendered));
        }
    }

    @ParameterizedTest
    @EnumSource(GgufFileType.class)
    void theFileDescribesTheSameModelAsConfigJson(GgufFileType type) {
        ErnieConfig written = ModelSource.of(QuantizedGguf.writeTiny(tmp, type)).config();
        ErnieConfig original = ErnieConfig.load(TinyModel.dir());
        assertEquals(original, written);
    }

    @ParameterizedTest
    @EnumSource(GgufFileType.class)
    void aSourceTensorOfTheWrongShapeIsRefusedNamingIt(GgufFileType type) {
        ErnieConfig config = ErnieConfig.load(TinyModel.dir());
        try (Checkpoint checkpoint = Checkpoint.open(TinyModel.dir()); var runner = new ParallelRunner(1)) {
            Tensor wrong = checkpoint.tensor("model.layers.0.self_attn.q_proj.weight");
            var e = assertThrows(ModelFormatException.class, () -> GgufModelWriter.write(tmp.resolve("bad.gguf"), Map.of(),
                    GgufLayout.of(config, type), (name, use) -> use.accept(name.endsWith("k_proj.weight") ? wrong : checkpoint.tensor(name)),
                    runner, t -> {}));
            assertTrue(e.getMessage().contains("model.layers.0.self_attn.q_proj.weight has shape [160, 128], expected [32, 128]"), e.getMessage());
        }
    }

    /** What the file should hold for {@code src}: its rows as F32, F16 or blocks of {@link Quantize}. */
    private static MemorySegment converted(Tensor src, DType type, long bytes, Arena arena) {
        long[] shape = src.shape();
        int cols = (int) shape[shape.length - 1];
        int rows = (int) (src.elementCount() / cols);
        var matrix = new WeightMatrix(src.name(), src.dtype(), rows, cols, src.data());
        MemorySegment out = arena.allocate(bytes);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            matrix.readRow(r, row, 0);
            long offset = r * type.byteSize(cols);
            switch (type) {
                case F32 -> MemorySegment.copy(row, 0, out, ValueLayout.JAVA_FLOAT_UNALIGNED, offset, cols);
                case F16 -> {
                    for (int i = 0; i < cols; i++) out.set(ValueLayout.JAVA_SHORT_UNALIGNED, offset + 2L * i, Float.floatToFloat16(row[i]));
                }
                default -> Quantize.row(type, row, 0, cols, out, offset);
            }
        }
        return out;
    }
}
