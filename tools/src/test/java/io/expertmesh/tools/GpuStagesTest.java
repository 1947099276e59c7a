package io.expertmesh.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** gpu-check's stage runner with stages that stand in for the GPU: files as stages end, failures recorded. */
class GpuStagesTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
    private static final Duration BUDGET = Duration.ofSeconds(5);

    private static GpuStages.Stage passing(String name) {
        return new GpuStages.Stage(name, BUDGET, deadline -> new GpuStages.Result(true, Map.of("value", 42)));
    }

    @Test
    void aStageThatThrowsIsRecordedAsAnErrorAndTheStagesAroundItKeepTheirFiles(@TempDir Path out) {
        var crash = new GpuStages.Stage("tiny", BUDGET, deadline -> {
            throw new IllegalStateException("kernel fault in rms_norm");
        });
        List<GpuStages.Outcome> outcomes = GpuStages.run(List.of(passing("env"), crash, passing("real")), out, QUIET);

        assertEquals(List.of("pass", "error", "pass"), outcomes.stream().map(GpuStages.Outcome::status).toList());
        assertEquals(42, Json.readTree(out.resolve("env.json")).get("value").asInt());
        JsonNode tiny = Json.readTree(out.resolve("tiny.json"));
        assertEquals("error", tiny.get("status").asText());
        assertTrue(tiny.get("error").asText().contains("kernel fault in rms_norm"), tiny.toString());
        assertEquals("pass", Json.readTree(out.resolve("real.json")).get("status").asText());
        assertFalse(Json.readTree(out.resolve("summary.json")).get("pass").asBoolean());
    }

    @Test
    void aStageOverItsBudgetIsATimeoutAfterWhichNoStageRunsButEarlierFilesStay(@TempDir Path out) throws Exception {
        var hang = new GpuStages.Stage("real", Duration.ofMillis(300), deadline -> {
            Thread.sleep(60_000);
            return new GpuStages.Result(true, Map.of());
        });
        long t0 = System.nanoTime();
        List<GpuStages.Outcome> outcomes = GpuStages.run(List.of(passing("env"), hang, passing("bench")), out, QUIET);

        assertTrue((System.nanoTime() - t0) / 1e9 < 10, "returns at the budget, not when the stage ends");
        assertEquals(List.of("pass", "timeout", "not-run"), outcomes.stream().map(GpuStages.Outcome::status).toList());
        assertEquals(42, Json.readTree(out.resolve("env.json")).get("value").asInt());
        JsonNode real = Json.readTree(out.resolve("real.json"));
        assertEquals("timeout", real.get("status").asText());
        assertTrue(real.get("wall_s").asDouble() >= 0.3, real.toString());
        assertEquals("not-run", Json.readTree(out.resolve("bench.json")).get("status").asText());
        JsonNode summary = Json.readTree(out.resolve("summary.json"));
        assertEquals(3, summary.get("stages").size());
        assertFalse(summary.get("pass").asBoolean());
    }

    @Test
    void eachStageFileIsWrittenWhenItsStageEndsBeforeTheNextStarts(@TempDir Path out) {
        var checksEarlierFile = new GpuStages.Stage("tiny", BUDGET,
                deadline -> new GpuStages.Result(Files.exists(out.resolve("env.json")) && Files.exists(out.resolve("summary.json")), Map.of()));
        List<GpuStages.Outcome> outcomes = GpuStages.run(List.of(passing("env"), checksEarlierFile), out, QUIET);

        assertEquals("pass", outcomes.get(1).status());
    }

    @Test
    void stageBudgetsRejectAnUnknownStageOrABadNumber() {
        assertEquals(Map.of("env", 10, "bench", 60), GpuCheck.budgets("env=10,bench=60"));
        var unknown = assertThrows(UsageException.class, () -> GpuCheck.budgets("warmup=10"));
        assertTrue(unknown.getMessage().contains("warmup"));
        assertThrows(UsageException.class, () -> GpuCheck.budgets("env=0"));
        assertThrows(UsageException.class, () -> GpuCheck.budgets("env"));
    }

    @Test
    void defaultBudgetsFitAFifteenMinuteWindow() {
        int checks = GpuCheck.DEFAULT_BUDGETS.get("env") + GpuCheck.DEFAULT_BUDGETS.get("tiny") + GpuCheck.DEFAULT_BUDGETS.get("real");
        int all = GpuCheck.DEFAULT_BUDGETS.values().stream().mapToInt(Integer::intValue).sum();
        assertTrue(checks < 5 * 60, "env + tiny + real: " + checks + " s");
        assertTrue(all <= 10 * 60, "all stages: " + all + " s");
        assertEquals(GpuCheck.STAGES, List.copyOf(GpuCheck.DEFAULT_BUDGETS.keySet()));
    }
}
