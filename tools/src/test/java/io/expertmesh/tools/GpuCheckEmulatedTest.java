package io.expertmesh.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.TinyModel;
import io.expertmesh.model.cuda.EmulatedGpu;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gpu-check}'s stages on the CPU emulator of the CUDA kernels, with the tiny model's shape
 * standing in for the real one (the real shape is far too slow to emulate): each stage writes its
 * file, with its result and wall time.
 */
class GpuCheckEmulatedTest {
    private static final GpuCheck.Device EMULATED = new GpuCheck.Device(EmulatedGpu::open, () -> Map.of("driver", "emulated"), Optional::empty);
    /** The emulator runs the kernels thousands of times slower than a GPU, and builds itself with g++ on first use. */
    private static final String EMULATOR_BUDGETS = "env=300,tiny=600,real=600,bench=600";
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @Test
    void everyStagePassesOnTheEmulatedGpuAndWritesItsFile(@TempDir Path out, @TempDir Path work) {
        var stdout = new ByteArrayOutputStream();
        String config = TinyModel.dir().resolve("config.json").toString();
        GpuCheck.run(new String[] {"--out", out.toString(), "--stage-seconds", EMULATOR_BUDGETS, "--model", TinyModel.dir().toString(), "--config", config,
                "--real-layers", "2", "--real-prompt", "8", "--real-steps", "4", "--work", work.resolve("slice").toString(),
                "--layers", "2", "--prompt-len", "8", "--gen", "2", "--batches", "1,2", "--rounds", "1", "--threads", "2"},
                TinyModel.dir(), EMULATED, new PrintStream(stdout, true, StandardCharsets.UTF_8), QUIET);

        for (String stage : GpuCheck.STAGES) {
            JsonNode record = Json.readTree(out.resolve(stage + ".json"));
            System.out.printf("emulated gpu-check stage %s: %s in %.1f s%n", stage, record.get("status").asText(), record.get("wall_s").asDouble());
            assertEquals("pass", record.get("status").asText(), stage + ": " + record);
        }
        for (JsonNode c : Json.readTree(out.resolve("tiny.json")).get("cases")) {
            System.out.printf("emulated tiny case %s: max|gpu-ref| %.2e, max|gpu-cpu| %.2e%n", c.get("case").asText(),
                    c.get("max_abs_diff_vs_reference").asDouble(), c.get("max_abs_diff_vs_cpu").asDouble());
        }
        JsonNode real = Json.readTree(out.resolve("real.json"));
        System.out.printf("emulated real-stage slice: max|gpu-cpu| %.2e, max|cpu logit| %.2f%n", real.get("max_abs_diff_vs_cpu").asDouble(),
                real.get("max_abs_cpu_logit").asDouble());
        assertEquals(real.get("cpu_ids"), real.get("gpu_ids"));
        assertTrue(Json.readTree(out.resolve("bench.json")).get("prefill_tok_s").asDouble() > 0);
        assertTrue(Json.readTree(out.resolve("summary.json")).get("pass").asBoolean());
        assertTrue(stdout.toString(StandardCharsets.UTF_8).contains("gpu-check stage bench  pass"), stdout.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aStageThatCannotOpenTheDeviceFailsTheRunAfterWritingTheStagesBeforeIt(@TempDir Path out) {
        var broken = new GpuCheck.Device(() -> {
            throw new IllegalStateException("--device cuda: CUDA initialisation failed");
        }, () -> Map.of("driver", "none"), Optional::empty);
        var failure = assertThrows(IllegalStateException.class, () -> GpuCheck.run(new String[] {"--out", out.toString(), "--stages", "env,tiny",
                "--model", TinyModel.dir().toString(), "--config", TinyModel.dir().resolve("config.json").toString()}, TinyModel.dir(), broken,
                QUIET, QUIET));

        assertTrue(failure.getMessage().contains("env error") && failure.getMessage().contains("tiny error"), failure.getMessage());
        assertTrue(Json.readTree(out.resolve("tiny.json")).get("error").asText().contains("CUDA initialisation failed"));
    }

    @Test
    void withoutAGpuNoStageRunsButEnvJsonRecordsWhyAndTheDriverFound(@TempDir Path out) {
        var none = new GpuCheck.Device(() -> {
            throw new AssertionError("no stage may open the device");
        }, () -> Map.of("driver_cuda_version", 12080), () -> Optional.of("the NVIDIA driver supports CUDA 12.8"));
        var stdout = new ByteArrayOutputStream();
        var failure = assertThrows(IllegalStateException.class, () -> GpuCheck.run(new String[] {"--out", out.toString(),
                "--config", TinyModel.dir().resolve("config.json").toString()}, TinyModel.dir(), none, new PrintStream(stdout), QUIET));

        assertTrue(failure.getMessage().startsWith("gpu-check needs a GPU: the NVIDIA driver supports CUDA 12.8"), failure.getMessage());
        assertEquals("", stdout.toString(StandardCharsets.UTF_8));
        JsonNode env = Json.readTree(out.resolve("env.json"));
        assertEquals(12080, env.get("driver_cuda_version").asInt());
        assertEquals("error", env.get("status").asText());
    }
}
