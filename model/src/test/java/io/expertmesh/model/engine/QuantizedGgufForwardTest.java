package io.expertmesh.model.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.TinyModel;
import io.expertmesh.model.gguf.GgufFileType;
import io.expertmesh.model.gguf.QuantizedGguf;
import io.expertmesh.model.kernels.CpuBackend;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.weights.WeightMatrix;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The tiny model written as a quantized GGUF file and loaded as any --model is: its forward pass (the
 * quantized kernels over the file's blocks) against the fp32 forward pass over the file's weights
 * dequantized, on every case of reference.json, prefill and decode.
 */
class QuantizedGgufForwardTest {
    private static final float LOGIT_TOLERANCE = 1e-3f;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(GgufFileType.class)
    void logitsOverTheWrittenFileMatchTheFp32ForwardOverItsDequantizedWeightsWithin1e3(GgufFileType type) {
        Path file = QuantizedGguf.writeTiny(tmp, type);
        Arena arena = Arena.ofAuto();
        try (LoadedModel quantized = LoadedModel.open(file, 2); KernelBackend backend = new CpuBackend(2)) {
            UnaryOperator<WeightMatrix> toF32 = QuantizedForwardTest.memoized(w -> QuantizedForwardTest.dequantized(w, arena));
            ErnieModel reference = QuantizedForwardTest.model(quantized, toF32, backend);
            int checked = 0;
            for (JsonNode c : TinyModel.referenceJson().get("cases")) {
                int[] ids = TinyModel.ints(c.get("input_ids"));
                float worst = Math.max(QuantizedForwardTest.worstPrefillDifference(quantized.model(), reference, ids),
                        QuantizedForwardTest.worstDecodeDifference(quantized.model(), reference, ids));
                assertTrue(worst <= LOGIT_TOLERANCE, type + " " + c.get("name").asText() + ": max |Δlogit| = " + worst);
                checked++;
            }
            assertTrue(checked > 0);
        }
    }
}
