package io.expertmesh.tools;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.cuda.CudaDevice;
import io.expertmesh.model.cuda.GpuKvBlocks;
import io.expertmesh.model.cuda.GpuModel;
import io.expertmesh.model.cuda.RandomWeights;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.cuda.Gpu;
import io.expertmesh.model.cuda.PtxModule;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * {@code mesh gpu-check --out DIR}: the one command to run on a GPU machine, in stages that each
 * write {@code DIR/<stage>.json} as they end (see {@link GpuStages}): {@code env} (driver, device,
 * PTX, JVM), {@code tiny} (the GPU path against the CPU path and the transformers reference on the
 * bundled tiny model), {@code real} (the GPU against the CPU engine on a slice of the real model's
 * shape, synthesized on the spot) and {@code bench} (throughput of the real shape with random
 * weights made on the device). Each stage has a time budget, so that the whole run fits a borrowed
 * GPU's window. Exits non-zero when a stage does not pass.
 */
public final class GpuCheck {
    /** Decode tokens per round with random weights: the real model's shape makes a round long. */
    static final int RANDOM_GEN = 32;
    static final String DEFAULT_BATCHES = "1,16,64";
    /** The real model's directory beside the bundled one; gpu-check uses only its config.json. */
    private static final String REAL_MODEL = "ernie-4.5-21b-a3b";
    /** The tiny model's KV cache on the device, in tokens: its longest reference case fits many times. */
    private static final int TINY_KV_TOKENS = 4096;
    static final List<String> STAGES = List.of("env", "tiny", "real", "bench");
    /**
     * Budgets in seconds, so that env, tiny and real take under 5 minutes together and the whole run
     * under 8, leaving room in a 15-minute device window for the machine's start and one rerun of a stage.
     */
    static final Map<String, Integer> DEFAULT_BUDGETS = budgets("env=20,tiny=90,real=180,bench=180");
    static final int REAL_LAYERS = 4;
    static final int REAL_PROMPT = 16;
    static final int REAL_STEPS = 8;
    /**
     * Largest |GPU − CPU| logit on the real-shape slice. Both paths keep activations, KV cache and
     * sums in fp32 over the same BF16 weights, so they differ only in the order of fp32 additions
     * (relative 2^-24 per addition, growing about with the square root of the dot length: ~1e-5 per
     * product of 2560–12288 terms, over ~10 products per layer); docs/gpu.md has the derivation.
     * One BF16 rounding of the activations (relative 2^-9) would exceed it.
     */
    static final double REAL_TOLERANCE = 2e-3;
    /** The bench stops starting measurements when this share of its budget is left, so the last one ends in time. */
    private static final double BENCH_MARGIN = 0.25;

    public static final CommandSpec SPEC = CommandSpec.of("gpu-check",
            "On a GPU machine: checks the GPU path in time-boxed stages (env, tiny, real, bench), each writing DIR/<stage>.json as it ends.",
            Option.required("out", "DIR", "where to write <stage>.json and summary.json"),
            Option.valued("stages", "S,S,...", String.join(",", STAGES), "the stages to run, in this order"),
            Option.valued("stage-seconds", "S=N,...", budgetsText(DEFAULT_BUDGETS), "time budget of each stage"),
            ModelCommands.MODEL.withHelp("the model whose GPU and CPU outputs are checked against its reference (stage tiny)"),
            Option.valued("config", "FILE", "the bundled " + ModelCommands.BUNDLED_MODEL.resolveSibling(REAL_MODEL).resolve("config.json"),
                    "the shape of the real-shape slice (stage real) and of the benchmark (stage bench)"),
            Option.valued("real-layers", "N", REAL_LAYERS, "layers of the real-shape slice"),
            Option.valued("real-prompt", "N", REAL_PROMPT, "prompt tokens of the real-shape comparison"),
            Option.valued("real-steps", "N", REAL_STEPS, "greedy steps of the real-shape comparison"),
            Option.valued("work", "DIR", "a new directory under java.io.tmpdir, deleted after",
                    "where stage real writes its synthesized slice"),
            Option.valued("layers", "N", Synth.ALL_LAYERS, "benchmark the first N layers"),
            Option.valued("prompt-len", "N", Bench.PROMPT_LEN, "prompt tokens of the benchmark"),
            Option.valued("gen", "N", RANDOM_GEN, "tokens to decode per benchmark round"),
            Option.valued("batches", "B,B,...", DEFAULT_BATCHES, "the batch sizes to benchmark"),
            Option.valued("rounds", "N", Bench.ROUNDS, "measured rounds per batch size, as many as the budget allows"),
            Option.valued("seed", "S", Bench.SEED, "seed of the random weights and prompts"),
            ModelCommands.THREADS.withHelp("compute threads of the CPU path it compares with"));

    /** The device the stages use: CUDA GPU 0, or in tests the CPU emulator of the kernels; {@code unavailable} says why none can be used. */
    record Device(Supplier<Gpu> open, Supplier<Map<String, Object>> driver, Supplier<Optional<String>> unavailable) {
        static final Device CUDA = new Device(() -> CudaDevice.open(0), GpuCheck::cudaDriver, CudaDevice::unavailableReason);
    }

    private GpuCheck() {}

    public static void run(String[] argv, Path defaultModel, PrintStream out, PrintStream err) {
        run(argv, defaultModel, Device.CUDA, out, err);
    }

    static void run(String[] argv, Path defaultModel, Device device, PrintStream out, PrintStream err) {
        CliArgs a = CliArgs.parse(SPEC, argv);
        Path outDir = Path.of(a.required("out"));
        Optional<String> unavailable = device.unavailable().get();
        if (unavailable.isPresent()) {
            // No stage could run; env.json still records the driver and PTX versions, which may say why.
            Map<String, Object> env = new LinkedHashMap<>(device.driver().get());
            env.put("stage", "env");
            env.put("status", "error");
            env.put("error", unavailable.get());
            GpuStages.write(outDir, "env.json", env);
            throw new IllegalStateException("gpu-check needs a GPU: " + unavailable.get());
        }
        if (!a.has("config") && defaultModel == null) throw new UsageException("--config is required (the real model's config.json)");
        Path config = a.has("config") ? Path.of(a.required("config"))
                : defaultModel.resolveSibling(REAL_MODEL).resolve("config.json");
        Map<String, Integer> budgets = new LinkedHashMap<>(DEFAULT_BUDGETS);
        if (a.has("stage-seconds")) budgets.putAll(budgets(a.required("stage-seconds")));
        List<GpuStages.Stage> stages = new ArrayList<>();
        for (String name : a.string("stages", String.join(",", STAGES)).split(",")) {
            GpuStages.Body body = switch (name.trim()) {
                case "env" -> deadline -> env(device);
                case "tiny" -> {
                    Path modelDir = a.directory("model", defaultModel);
                    yield deadline -> tiny(modelDir, device, a, out, err);
                }
                case "real" -> deadline -> real(config, device, a, err);
                case "bench" -> deadline -> bench(config, device, a, deadline, err);
                default -> throw new UsageException("--stages: no stage '" + name + "' (env, tiny, real, bench)");
            };
            stages.add(new GpuStages.Stage(name.trim(), Duration.ofSeconds(budgets.get(name.trim())), body));
        }
        List<GpuStages.Outcome> outcomes = GpuStages.run(stages, outDir, out);
        out.println("wrote " + outDir.resolve("summary.json"));
        List<String> failed = outcomes.stream().filter(o -> !o.passed()).map(o -> o.stage() + " " + o.status()).toList();
        if (!failed.isEmpty()) throw new IllegalStateException("gpu-check: " + String.join(", ", failed) + " (see " + outDir + ")");
    }

    /** Stage env: driver and PTX, the device's name and memory, the JVM and the host's cores. */
    private static GpuStages.Result env(Device device) {
        Map<String, Object> details = new LinkedHashMap<>(device.driver().get());
        boolean driverOk = !Boolean.FALSE.equals(details.get("driver_loads_ptx"));
        try (Gpu gpu = device.open().get()) {
            long[] memory = gpu.memoryUsedAndTotal();
            details.put("device", gpu.name());
            details.put("gpu_memory_used_gb", memory[0] / 1e9);
            details.put("gpu_memory_total_gb", memory[1] / 1e9);
        }
        details.put("java_version", System.getProperty("java.version"));
        details.put("java_vm", System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
        details.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        details.put("cores", Runtime.getRuntime().availableProcessors());
        details.put("max_heap_gb", Runtime.getRuntime().maxMemory() / 1e9);
        return new GpuStages.Result(driverOk, details);
    }

    private static Map<String, Object> cudaDriver() {
        PtxModule ptx = CudaDevice.kernels();
        Map<String, Object> details = new LinkedHashMap<>();
        OptionalInt version = CudaDevice.driverVersion();
        details.put("driver_cuda_version", version.isPresent() ? version.getAsInt() : null);
        details.put("ptx_isa", ptx.isa());
        details.put("ptx_target", ptx.target());
        details.put("ptx_minimum_driver_cuda_version", ptx.minimumDriverVersion().orElse(null));
        details.put("driver_loads_ptx", version.isPresent() && ptx.driverRefusal(version.getAsInt()).isEmpty());
        if (version.isPresent()) ptx.driverRefusal(version.getAsInt()).ifPresent(r -> details.put("driver_refusal", r));
        return details;
    }

    /** Stage tiny: every reference case of {@code modelDir} on the GPU and the CPU, against the stored reference. */
    private static GpuStages.Result tiny(Path modelDir, Device device, CliArgs a, PrintStream out, PrintStream err) {
        List<GpuCorrectness.CaseResult> cases;
        try (LoadedModel cpu = LoadedModel.open(modelDir, ModelCommands.threads(a));
             GpuCheckpoint gpu = GpuCheckpoint.open(modelDir, TINY_KV_TOKENS, device.open(), err)) {
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
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("model", modelDir.toString());
        details.put("tolerance", GpuCorrectness.TOLERANCE);
        details.put("cases", rows);
        return new GpuStages.Result(allPass, details);
    }

    /**
     * Stage real: synthesizes the first layers of {@code configFile}'s shape with the project's synth
     * code, then runs a random prompt and greedy steps on the GPU and on the CPU engine (all cores).
     */
    private static GpuStages.Result real(Path configFile, Device device, CliArgs a, PrintStream err) throws IOException {
        int layers = a.integer("real-layers", REAL_LAYERS, 1, 1024);
        int promptLen = a.integer("real-prompt", REAL_PROMPT, 1, 1 << 16);
        int steps = a.integer("real-steps", REAL_STEPS, 1, 1 << 16);
        boolean temporary = !a.has("work");
        Path work = temporary ? Files.createTempDirectory("gpu-check-real") : Path.of(a.required("work"));
        Map<String, Object> details = new LinkedHashMap<>();
        try {
            long t0 = System.nanoTime();
            Synth.run(new String[] {"--config", configFile.toString(), "--out", work.toString(), "--layers", String.valueOf(layers),
                    "--seed", String.valueOf(seed(a)), "--threads", String.valueOf(ModelCommands.threads(a))}, err, err);
            long t1 = System.nanoTime();
            try (LoadedModel cpu = LoadedModel.open(work, ModelCommands.threads(a));
                 GpuCheckpoint gpu = GpuCheckpoint.open(work, promptLen + steps, device.open(), err)) {
                long t2 = System.nanoTime();
                int vocabLimit = Math.min(cpu.config().vocabSize(), 50_000);
                int[] prompt = new SplittableRandom(seed(a)).ints(promptLen, 0, vocabLimit).toArray();
                GpuCorrectness.CpuComparison c = GpuCorrectness.compareWithCpu(cpu, gpu.gpu(), prompt, steps);
                long t3 = System.nanoTime();
                details.put("config", configFile.toString());
                details.put("layers", layers);
                details.put("prompt_ids", prompt);
                details.put("gpu_ids", c.gpuIds());
                details.put("cpu_ids", c.cpuIds());
                details.put("ids_equal", c.idsMatch());
                details.put("max_abs_diff_vs_cpu", c.maxDiff());
                details.put("max_abs_cpu_logit", c.maxCpuLogit());
                details.put("tolerance", REAL_TOLERANCE);
                details.put("synth_s", (t1 - t0) / 1e9);
                details.put("load_s", (t2 - t1) / 1e9);
                details.put("compare_s", (t3 - t2) / 1e9);
                return new GpuStages.Result(c.idsMatch() && c.maxDiff() <= REAL_TOLERANCE, details);
            }
        } finally {
            if (temporary) deleteTree(work);
        }
    }

    /** Stage bench: the benchmark of {@code configFile}'s shape, starting no measurement in the last quarter of its budget. */
    private static GpuStages.Result bench(Path configFile, Device device, CliArgs a, long deadline, PrintStream err) {
        long soft = deadline - (long) ((deadline - System.nanoTime()) * BENCH_MARGIN);
        Map<String, Object> result = benchRandom(configFile, a, device.open().get(), soft, err);
        return new GpuStages.Result(result.get("prefill_tok_s") != null, result);
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
        return benchRandom(configFile, a, CudaDevice.open(0), GpuBench.NO_DEADLINE, err);
    }

    private static Map<String, Object> benchRandom(Path configFile, CliArgs a, Gpu device, long deadlineNanos, PrintStream err) {
        JsonNode raw = Json.readTree(configFile);
        ErnieConfig full = ErnieConfig.parse(raw, configFile.toString());
        int layers = a.integer("layers", full.numLayers(), 1, full.numLayers());
        ErnieConfig config = ErnieConfig.parse(Synth.firstLayers(raw, full, layers), configFile + " (first " + layers + " layers)");
        int promptLen = a.integer("prompt-len", Bench.PROMPT_LEN, 1, 1 << 20);
        int gen = a.integer("gen", RANDOM_GEN, 2, 1 << 20);
        int[] batches = batches(a);
        var progress = new Progress(err, "random weights on " + device.name(), layers, "layers");
        try (GpuModel gpu = GpuModel.load(device, config, new RandomWeights(device, seed(a), l -> progress.advance(1)),
                GpuKvBlocks.blocksFor(kvTokens(batches, promptLen, gen)))) {
            progress.finish();
            Map<String, Object> result =
                    GpuBench.run(gpu, promptLen, gen, batches, a.integer("rounds", Bench.ROUNDS, 1, 100), seed(a), deadlineNanos, err);
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
        return widest * (promptLen + gen + GpuKvBlocks.BLOCK);
    }

    /** Stage budgets from {@code name=seconds,...}. */
    static Map<String, Integer> budgets(String text) {
        Map<String, Integer> budgets = new LinkedHashMap<>();
        for (String part : text.split(",")) {
            String[] kv = part.split("=", 2);
            String name = kv[0].trim();
            if (kv.length != 2 || !STAGES.contains(name)) {
                throw new UsageException("--stage-seconds takes STAGE=SECONDS,... with stages env, tiny, real, bench, not '" + part + "'");
            }
            try {
                int seconds = Integer.parseInt(kv[1].trim());
                if (seconds < 1) throw new NumberFormatException();
                budgets.put(name, seconds);
            } catch (NumberFormatException e) {
                throw new UsageException("--stage-seconds: '" + part + "' needs a whole number of seconds, at least 1");
            }
        }
        return budgets;
    }

    private static String budgetsText(Map<String, Integer> budgets) {
        StringBuilder text = new StringBuilder();
        budgets.forEach((name, seconds) -> text.append(text.isEmpty() ? "" : ",").append(name).append('=').append(seconds));
        return text.toString();
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
