package io.expertmesh.tools;

import io.expertmesh.model.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs {@code gpu-check}'s stages one after another, each on its own thread within its time budget,
 * and writes {@code DIR/<stage>.json} and a one-line summary as each ends, then rewrites
 * {@code DIR/summary.json}: on a borrowed GPU whose window may close, a later stage's crash or
 * timeout keeps the earlier stages' results.
 */
final class GpuStages {
    /** What a stage does: it may read {@code deadlineNanos} (System.nanoTime) to end early with what it has. */
    interface Body {
        Result run(long deadlineNanos) throws Exception;
    }

    /** A stage's verdict and the details written to its file. */
    record Result(boolean pass, Map<String, Object> details) {}

    record Stage(String name, Duration budget, Body body) {}

    /** How a stage ended: pass, fail (ran, disagrees), error (threw), timeout, or not-run (after a timeout). */
    record Outcome(String stage, String status, double wallSeconds, double budgetSeconds) {
        boolean passed() {
            return status.equals("pass");
        }
    }

    private GpuStages() {}

    /**
     * Runs {@code stages} in order; after a timeout the rest are not run, since the device may still
     * be busy with the abandoned stage (its thread is a daemon, so it does not keep the JVM alive).
     */
    static List<Outcome> run(List<Stage> stages, Path outDir, PrintStream out) {
        List<Outcome> outcomes = new ArrayList<>();
        boolean timedOut = false;
        for (Stage stage : stages) {
            Map<String, Object> record = new LinkedHashMap<>();
            record.put("stage", stage.name());
            record.put("budget_s", stage.budget().toMillis() / 1e3);
            Outcome outcome;
            if (timedOut) {
                outcome = new Outcome(stage.name(), "not-run", 0, stage.budget().toMillis() / 1e3);
                record.put("status", outcome.status());
                record.put("reason", "an earlier stage timed out");
            } else {
                outcome = runOne(stage, record);
                timedOut = outcome.status().equals("timeout");
            }
            write(outDir, stage.name() + ".json", record);
            outcomes.add(outcome);
            out.printf("gpu-check stage %-6s %-8s %7.1f s of %5.0f s%s%n", stage.name(), outcome.status(), outcome.wallSeconds(),
                    outcome.budgetSeconds(), record.containsKey("error") ? "  " + record.get("error") : "");
            write(outDir, "summary.json", summary(outcomes));
        }
        return outcomes;
    }

    private static Outcome runOne(Stage stage, Map<String, Object> record) {
        long start = System.nanoTime();
        long deadline = start + stage.budget().toNanos();
        FutureTask<Result> task = new FutureTask<>(() -> stage.body().run(deadline));
        Thread thread = Thread.ofPlatform().daemon().name("gpu-check-" + stage.name()).start(task);
        String status;
        try {
            Result result = task.get(stage.budget().toNanos(), TimeUnit.NANOSECONDS);
            status = result.pass() ? "pass" : "fail";
            record.putAll(result.details());
        } catch (TimeoutException e) {
            status = "timeout";
            record.put("error", "exceeded its budget of " + stage.budget().toSeconds() + " s; still running in " + thread.getName());
        } catch (ExecutionException e) {
            status = "error";
            Throwable cause = e.getCause();
            record.put("error", cause.getClass().getSimpleName() + ": " + cause.getMessage());
            record.put("trace", trace(cause));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            status = "error";
            record.put("error", "interrupted");
        }
        double wall = (System.nanoTime() - start) / 1e9;
        record.put("status", status);
        record.put("wall_s", wall);
        return new Outcome(stage.name(), status, wall, stage.budget().toMillis() / 1e3);
    }

    private static List<String> trace(Throwable t) {
        List<String> lines = new ArrayList<>();
        for (StackTraceElement e : t.getStackTrace()) lines.add(e.toString());
        return lines.subList(0, Math.min(lines.size(), 20));
    }

    private static Map<String, Object> summary(List<Outcome> outcomes) {
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("pass", outcomes.stream().allMatch(Outcome::passed));
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Outcome o : outcomes) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("stage", o.stage());
            row.put("status", o.status());
            row.put("wall_s", o.wallSeconds());
            row.put("budget_s", o.budgetSeconds());
            rows.add(row);
        }
        summary.put("stages", rows);
        return summary;
    }

    static void write(Path dir, String name, Object value) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(name), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(name) + ": " + e.getMessage(), e);
        }
    }
}
