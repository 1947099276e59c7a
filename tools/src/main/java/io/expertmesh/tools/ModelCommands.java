package io.expertmesh.tools;

import io.expertmesh.model.Json;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.kvstore.PooledSequences;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.engine.ModelSource;
import io.expertmesh.model.engine.SequenceEngine;
import io.expertmesh.model.generate.Generation;
import io.expertmesh.model.generate.Generator;
import io.expertmesh.model.generate.StopTokens;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.tokenizer.ChatMessage;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The in-process model commands: {@code generate}, {@code tokenize} and {@code logits}. */
public record ModelCommands(Path defaultModel, PrintStream out, PrintStream err) {
    /** The bundled tiny model, relative to the install directory: the default of every {@code --model}. */
    public static final Path BUNDLED_MODEL = Path.of("models", "tiny-ernie-4.5-moe");
    public static final Option MODEL = Option.valued("model", "DIR|FILE.gguf", "the bundled " + BUNDLED_MODEL,
            "model directory (safetensors, config.json, tokenizer), or a GGUF file (its own tokenizer; Hugging Face tokenizer files beside it if it has none)");
    public static final Option THREADS = Option.computed("threads", "N",
            () -> "one per available processor, here " + Runtime.getRuntime().availableProcessors(), "compute threads of the CPU backend");

    static final int MAX_NEW_TOKENS = 64;
    static final float TEMPERATURE = 0f;
    static final float TOP_P = 1f;
    static final int TOP_K = 0;
    static final float MIN_P = 0f;
    static final float REPETITION_PENALTY = 1f;
    static final float PRESENCE_PENALTY = 0f;
    static final float FREQUENCY_PENALTY = 0f;
    static final int TOP = 10;
    private static final String ONE_PROMPT = "none: give --prompt or --prompt-ids";

    public static final CommandSpec GENERATE = CommandSpec.of("generate",
            "Generates a completion in this process and prints the text as it comes (or one JSON object).",
            MODEL,
            Option.valued("prompt", "TEXT", ONE_PROMPT, "a user message, rendered with the model's chat template"),
            Option.valued("prompt-ids", "ID,ID,...", ONE_PROMPT, "the prompt as token ids, used as they are (no chat template)"),
            Option.valued("system", "TEXT", "none", "a system message before --prompt"),
            Option.valued("max-new-tokens", "N", MAX_NEW_TOKENS, "the most tokens to generate"),
            Option.valued("temperature", "T", TEMPERATURE, "sampling temperature; 0 is greedy"),
            Option.valued("top-p", "P", TOP_P, "sample from the smallest set of tokens with this much probability; 1 is off"),
            Option.valued("top-k", "K", TOP_K, "sample from the K most likely tokens; 0 is off"),
            Option.valued("min-p", "P", MIN_P, "drop tokens less likely than P times the most likely one; 0 is off"),
            Option.valued("repetition-penalty", "X", REPETITION_PENALTY, "penalise tokens of the prompt and the output; 1 is off"),
            Option.valued("presence-penalty", "X", PRESENCE_PENALTY, "subtract X from the logit of every token generated so far"),
            Option.valued("frequency-penalty", "X", FREQUENCY_PENALTY, "subtract X times its count from the logit of every generated token"),
            Option.valued("seed", "S", "a random one", "sampling seed: the same seed and options give the same tokens"),
            Option.valued("stop", "TEXT", "none", "end the text before this string; up to " + SamplingParams.MAX_STOP_STRINGS + " --stop"),
            THREADS,
            GpuCheckpoint.DEVICE,
            Option.flag("stop-at-eos", "stop at the model's end tokens when greedy too (sampling always does)"),
            Option.flag("json", "print one JSON object: prompt_ids, generated_ids, text, finish_reason"));

    public static final CommandSpec TOKENIZE = CommandSpec.of("tokenize",
            "Prints the token ids the model's tokenizer gives a text (no chat template).",
            MODEL,
            Option.required("text", "TEXT", "the text to encode"),
            Option.flag("json", "print {\"ids\":[...]} instead of ids separated by spaces"));

    public static final CommandSpec LOGITS = CommandSpec.of("logits",
            "Prints the highest logits at the last position of a prompt (id and logit).",
            MODEL,
            Option.required("prompt-ids", "ID,ID,...", "the prompt as token ids"),
            Option.valued("top", "K", TOP, "how many of the highest logits to print"),
            THREADS,
            GpuCheckpoint.DEVICE,
            Option.flag("json", "print {\"top\":[{\"id\":...,\"logit\":...}]} instead of tab-separated lines"));

    public void generate(String[] argv) {
        CliArgs a = CliArgs.parse(GENERATE, argv);
        Path dir = a.model("model", defaultModel);
        ModelSource source = ModelSource.of(dir);
        if (a.has("prompt") == a.has("prompt-ids")) throw new UsageException("give exactly one of --prompt TEXT and --prompt-ids 1,2,3");
        if (a.has("system") && !a.has("prompt")) throw new UsageException("--system needs --prompt");
        int maxNew = a.integer("max-new-tokens", MAX_NEW_TOKENS, 0, 1 << 20);
        float temperature = a.number("temperature", TEMPERATURE);
        int[] promptIdsArg = a.has("prompt-ids") ? a.intList("prompt-ids") : null;
        Tokenizer tokenizer = source.tokenizer();
        ErnieConfig config = source.config();
        int[] prompt;
        if (promptIdsArg != null) {
            prompt = promptIdsArg;
            for (int id : prompt) {
                if (id >= config.vocabSize()) {
                    throw new UsageException("--prompt-ids: token id " + id + " is outside the vocabulary [0, " + config.vocabSize() + ")");
                }
            }
        } else {
            List<ChatMessage> messages = new ArrayList<>();
            if (a.has("system")) messages.add(new ChatMessage("system", a.required("system")));
            messages.add(new ChatMessage("user", a.required("prompt")));
            prompt = tokenizer.encode(source.chatTemplate().render(messages, true));
        }
        Set<Integer> stopIds = temperature == 0 && !a.flag("stop-at-eos") ? Set.of() : StopTokens.defaults(config, tokenizer);
        SamplingParams params;
        try {
            params = new SamplingParams(temperature, a.integer("top-k", TOP_K, 0, Integer.MAX_VALUE), a.number("top-p", TOP_P),
                    a.number("min-p", MIN_P), a.number("repetition-penalty", REPETITION_PENALTY), a.number("presence-penalty", PRESENCE_PENALTY),
                    a.number("frequency-penalty", FREQUENCY_PENALTY), a.has("seed") ? a.longValue("seed") : null, maxNew, 0, stopIds, a.all("stop"),
                    Map.of(), SamplingParams.NO_LOGPROBS);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage().replace('_', '-'));
        }
        boolean json = a.flag("json");
        try (OpenedEngine model = open(dir, a, prompt.length + maxNew)) {
            Generation g = new Generator(model.engine(), tokenizer).generate(prompt, params, text -> {
                if (!json) {
                    out.print(text);
                    out.flush();
                }
            });
            if (json) {
                Map<String, Object> result = new LinkedHashMap<>();
                result.put("prompt_ids", g.promptIds());
                result.put("generated_ids", g.generatedIds());
                result.put("text", g.text());
                result.put("finish_reason", g.finishReason().apiName());
                out.println(Json.write(result));
            } else {
                out.println();
                double decodeSeconds = g.decodeNanos() / 1e9;
                err.printf("[%d prompt tokens in %.2f s, %d new tokens at %.1f tok/s, finish: %s]%n", g.promptIds().length,
                        g.prefillNanos() / 1e9, g.generatedIds().length,
                        g.generatedIds().length > 1 ? (g.generatedIds().length - 1) / decodeSeconds : 0.0, g.finishReason().apiName());
            }
        }
    }

    public void tokenize(String[] argv) {
        CliArgs a = CliArgs.parse(TOKENIZE, argv);
        int[] ids = ModelSource.of(a.model("model", defaultModel)).tokenizer().encode(a.required("text"));
        if (a.flag("json")) {
            out.println(Json.write(Map.of("ids", ids)));
        } else {
            StringBuilder sb = new StringBuilder();
            for (int id : ids) sb.append(sb.isEmpty() ? "" : " ").append(id);
            out.println(sb);
        }
    }

    public void logits(String[] argv) {
        CliArgs a = CliArgs.parse(LOGITS, argv);
        Path dir = a.model("model", defaultModel);
        int[] ids = a.intList("prompt-ids");
        int top = a.integer("top", TOP, 1, 1 << 20);
        try (OpenedEngine model = open(dir, a, ids.length)) {
            ErnieConfig config = model.engine().config();
            for (int id : ids) {
                if (id >= config.vocabSize()) {
                    throw new UsageException("--prompt-ids: token id " + id + " is outside the vocabulary [0, " + config.vocabSize() + ")");
                }
            }
            float[] logits;
            try (SequenceEngine.Sequence sequence = model.engine().newSequence()) {
                logits = sequence.append(ids);
            }
            Integer[] order = new Integer[logits.length];
            for (int t = 0; t < order.length; t++) order[t] = t;
            Arrays.sort(order, (x, y) -> logits[x] != logits[y] ? Float.compare(logits[y], logits[x]) : Integer.compare(x, y));
            List<Map<String, Object>> best = new ArrayList<>();
            for (int k = 0; k < Math.min(top, logits.length); k++) {
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("id", order[k]);
                entry.put("logit", logits[order[k]]);
                best.add(entry);
            }
            if (a.flag("json")) {
                out.println(Json.write(Map.of("top", best)));
            } else {
                for (Map<String, Object> e : best) out.println(e.get("id") + "\t" + e.get("logit"));
            }
        }
    }

    /** The model on the device {@code --device} selects, with room for a sequence of {@code tokens} tokens. */
    private OpenedEngine open(Path dir, CliArgs a, int tokens) {
        if (GpuCheckpoint.selected(a)) {
            GpuCheckpoint gpu = GpuCheckpoint.open(dir, tokens, err);
            return new OpenedEngine(gpu.sequences(), gpu);
        }
        LoadedModel cpu = LoadedModel.open(dir, threads(a));
        return new OpenedEngine(PooledSequences.onHeap(cpu.model()), cpu);
    }

    /** An engine and what to close when done with it. */
    private record OpenedEngine(SequenceEngine engine, AutoCloseable owner) implements AutoCloseable {
        @Override
        public void close() {
            try {
                owner.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing the model: " + e.getMessage(), e);
            }
        }
    }

    static int threads(CliArgs a) {
        return a.integer("threads", Runtime.getRuntime().availableProcessors(), 1, 1024);
    }
}
