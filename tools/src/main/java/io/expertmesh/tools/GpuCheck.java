package io.expertmesh.tools;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.cuda.CudaDevice;
import io.expertmesh.model.cuda.GpuCorrectness;
import io.expertmesh.model.cuda.GpuModel;
import io.expertmesh.model.cuda.RandomWeights;
import io.expertmesh.model.engine.LoadedModel;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code mesh gpu-check --out DIR}: the one command to run on a GPU machine. It compares the GPU
 * path with the CPU path and the transformers reference on the bundled tiny model, then benchmarks
 * the real model's shape with random weights made on the device, and writes {@code correctness.json},
 * {@code bench.json} and {@code summary.json} to DIR. Exits non-zero when a case disagrees.
 */
public final class GpuCheck {
    /** Decode tokens per round with random weights: the real model's shape makes a round long. */
    static final int RANDOM_GEN = 32;
    static final String DEFAULT_BATCHES = "1,16,64";
    /** The real model's directory beside the bundled one; gpu-check uses only its config.json. */
    private static final String REAL_MODEL = "ernie-4.5-21b-a3b";

    public static final CommandSpec SPEC = CommandSpec.of("gpu-check",
            "On a GPU machine: checks the GPU path against the CPU and the reference, then benchmarks the real shape.",
            Option.required("out", "DIR", "where to write correctness.json, bench.json and summary.json"),
            ModelCommands.MODEL.withHelp("the model whose GPU and CPU outputs are checked"),
            Option.valued("config", "FILE", "the bundled " + ModelCommands.BUNDLED_MODEL.resolveSibling(REAL_MODEL).resolve("config.json"),
                    "the shape the benchmark fills with random weights"),
            Option.valued("layers", "N", Synth.ALL_LAYERS, "benchmark the first N layers"),
            Option.valued("prompt-len", "N", Bench.PROMPT_LEN, "prompt tokens of the benchmark"),
            Option.valued("gen", "N", RANDOM_GEN, "tokens to decode per benchmark round"),
            Option.valued("batches", "B,B,...", DEFAULT_BATCHES, "the batch sizes to benchmark"),
            Option.valued("rounds", "N", Bench.ROUNDS, "measured rounds per batch size"),
            Option.valued("seed", "S", Bench.SEED, "seed of the random weights and prompts"),
            ModelCommands.THREADS.withHelp("compute threads of the CPU path it compares with"),
            Option.flag("skip-bench", "check correctness only"));

    private GpuCheck() {}

    public static void run(String[] argv, Path defaultModel, PrintStream out, PrintStream err) {
        CliArgs a = CliArgs.parse(SPEC, argv);
        CudaDevice.unavailableReason().ifPresent(reason -> {
            throw new IllegalStateException("gpu-check needs a GPU: " + reason);
        });
        Path outDir = Path.of(a.required("out"));
        Path modelDir = a.directory("model", defaultModel);
        if (!a.has("config") && defaultModel == null) throw new UsageException("--config is required (the real model's config.json)");
        Path config = a.has("config") ? Path.of(a.required("config"))
                : defaultModel.resolveSibling(REAL_MODEL).resolve("config.json");
        Map<String, Object> summary = new LinkedHashMap<>();
        List<GpuCorrectness.CaseResult> cases;
        try (LoadedModel cpu = LoadedModel.open(modelDir, ModelCommands.threads(a));
             GpuCheckpoint gpu = GpuCheckpoint.open(modelDir, 4096, err)) {
            summary.put("device", gpu.gpu().device().name());
            cases = GpuCorrectness.run(cpu, gpu.gpu(), modelDir);
        }
        List<Map<String, Object>> rows = new ArrayList<>();
        boolean allPass = true;
        out.printf("%-8s %7s %10s %14s %12s  %s%n", "case", "prompt", "ids equal", "max|gpu-ref|", "max|gpu-cpu|", "result");
        for (GpuCorrectness.CaseResult c : cases) {
            allPass &= c.passes();
            out.printf("%-8s %7d %10s %14.2e %12.2e  %s%n", c.name(), c.promptTokens(), c.idsMatch() ? "yes" : "NO", c.maxDiffVsReference(),
                    c.maxDiffVsCpu(), c.passes() ? "pass" : "FAIL");
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("case", c.name());
            row.put("prompt_tokens", c.promptTokens());
            row.put("expected_ids", c.expectedIds());
            row.put("gpu_ids", c.gpuIds());
            row.put("cpu_ids", c.cpuIds());
            row.put("max_abs_diff_vs_reference", c.maxDiffVsReference());
            row.put("max_abs_diff_vs_cpu", c.maxDiffVsCpu());
            row.put("pass", c.passes());
            rows.add(row);
        }
        out.printf("tolerance %.0e absolute on logits (fp32 activations); %s%n", GpuCorrectness.TOLERANCE, allPass ? "all cases pass" : "FAILED");
        summary.put("correctness_pass", allPass);
        summary.put("tolerance", GpuCorrectness.TOLERANCE);
        summary.put("cases", rows);
        write(outDir, "correctness.json", Map.of("tolerance", GpuCorrectness.TOLERANCE, "pass", allPass, "cases", rows));
        if (!a.flag("skip-bench")) {
            Map<String, Object> bench = benchRandom(config, a, err);
            out.println("bench: " + Json.write(bench));
            write(outDir, "bench.json", bench);
            summary.put("bench", bench);
        }
        write(outDir, "summary.json", summary);
        out.println("wrote " + outDir.resolve("summary.json"));
        if (!allPass) throw new IllegalStateException("the GPU path disagrees with the reference (see " + outDir.resolve("correctness.json") + ")");
    }

    /** {@code bench --device cuda}: a checkpoint ({@code --model}) or random weights of {@code --config}'s shape. */
    static Map<String, Object> bench(CliArgs a, Path defaultModel, PrintStream err) {
        if (a.has("config")) return benchRandom(Path.of(a.required("config")), a, err);
        int promptLen = a.integer("prompt-len", Bench.PROMPT_LEN, 1, 1 << 20);
        int gen = a.integer("gen", Bench.GEN, 2, 1 << 20);
        int[] batches = batches(a);
        int kv = kvTokens(batches, promptLen, gen);
        try (GpuCheckpoint gpu = GpuCheckpoint.open(a.model("model", defaultModel), kv, err)) {
            return GpuBench.run(gpu.gpu(), promptLen, gen, batches, a.integer("rounds", Bench.ROUNDS, 1, 100), seed(a), err);
        }
    }

    private static Map<String, Object> benchRandom(Path configFile, CliArgs a, PrintStream err) {
        JsonNode raw = Json.readTree(configFile);
        ErnieConfig full = ErnieConfig.parse(raw, configFile.toString());
        int layers = a.integer("layers", full.numLayers(), 1, full.numLayers());
        ErnieConfig config = ErnieConfig.parse(Synth.firstLayers(raw, full, layers), configFile + " (first " + layers + " layers)");
        int promptLen = a.integer("prompt-len", Bench.PROMPT_LEN, 1, 1 << 20);
        int gen = a.integer("gen", RANDOM_GEN, 2, 1 << 20);
        int[] batches = batches(a);
        CudaDevice device = CudaDevice.open(0);
        var progress = new Progress(err, "random weights on " + device.name(), layers, "layers");
        try (GpuModel gpu = GpuModel.load(device, config, new RandomWeights(device, seed(a), l -> progress.advance(1)),
                kvTokens(batches, promptLen, gen))) {
            progress.finish();
            Map<String, Object> result = GpuBench.run(gpu, promptLen, gen, batches, a.integer("rounds", Bench.ROUNDS, 1, 100), seed(a), err);
            result.put("weights", "random (seed " + seed(a) + ") in the shape of " + configFile);
            return result;
        }
    }

    private static int[] batches(CliArgs a) {
        if (a.has("batches")) return a.intList("batches");
        return Arrays.stream(DEFAULT_BATCHES.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    private static long seed(CliArgs a) {
        return a.has("seed") ? a.longValue("seed") : Bench.SEED;
    }

    private static int kvTokens(int[] batches, int promptLen, int gen) {
        int widest = 1;
        for (int b : batches) widest = Math.max(widest, b);
        return widest * (promptLen + gen + GpuModel.KV_BLOCK);
    }

    private static void write(Path dir, String name, Object value) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(name), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(name) + ": " + e.getMessage(), e);
        }
    }
}
