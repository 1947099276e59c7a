package io.expertmesh.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.gguf.GgufFileType;
import io.expertmesh.model.gguf.GgufValue;
import io.expertmesh.model.kernels.ParallelRunner;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.safetensors.SafetensorsWriter;
import io.expertmesh.model.safetensors.SafetensorsWriter.Entry;
import io.expertmesh.model.safetensors.Tensor;
import io.expertmesh.model.tokenizer.GgufTokenizerMetadata;
import io.expertmesh.model.tokenizer.SentencePieceModel;
import io.expertmesh.model.weights.WeightLoader;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code mesh synth}: writes a random-weight checkpoint with the shape of a given config.json (the
 * first N layers: layer 0 dense, the rest as the config says), in BF16, sharded like a Hugging Face
 * checkpoint, with a byte-level tokenizer covering the whole vocabulary and the ERNIE chat template.
 * The same --seed gives the same bytes, whatever the thread count. With {@code --quantize TYPE} it writes
 * one GGUF file of that type instead, from the same BF16 values, one tensor in memory at a time.
 */
public final class Synth {
    private static final float INIT_STD = 0.02f;
    private static final float BIAS_RANGE = 0.01f;
    private static final int CHUNK = 1 << 20;
    private static final String CHAT_TEMPLATE = """
            {%- if not add_generation_prompt is defined -%}
                {%- set add_generation_prompt = true -%}
            {%- endif -%}
            {%- if not cls_token is defined -%}
                {%- set cls_token = "<|begin_of_sentence|>" -%}
            {%- endif -%}
            {%- if not sep_token is defined -%}
                {%- set sep_token = "<|end_of_sentence|>" -%}
            {%- endif -%}
            {{- cls_token -}}
            {%- for message in messages -%}
                {%- if message["role"] == "user" -%}
                    {{- "User: " + message["content"] + "\\n" -}}
                {%- elif message["role"] == "assistant" -%}
                    {{- "Assistant: " + message["content"] + sep_token -}}
                {%- elif message["role"] == "system" -%}
                    {{- message["content"] + "\\n" -}}
                {%- endif -%}
            {%- endfor -%}
            {%- if add_generation_prompt -%}
                {{- "Assistant: " -}}
            {%- endif -%}""";
    private static final List<String> SPECIAL = List.of("<unk>", "<s>", "</s>", "<|begin_of_sentence|>", "<|end_of_sentence|>",
            "<mask:0>", "<mask:1>", "<mask:2>", "<mask:3>", "<mask:4>", "<mask:5>", "<mask:6>", "<mask:7>");

    private static final long SEED = 0;
    private static final float SHARD_GB = 4f;
    static final String ALL_LAYERS = "every layer of --config";
    static final String GGUF_FILE = "model.gguf";

    public static final CommandSpec SPEC = CommandSpec.of("synth",
            "Writes a random-weight BF16 checkpoint, with a tokenizer, in the shape of a config.json.",
            Option.required("config", "FILE", "the config.json whose shape to copy"),
            Option.required("out", "DIR", "where to write the checkpoint"),
            Option.valued("layers", "N", ALL_LAYERS, "keep the first N layers (layer 0 dense, the rest as --config says)"),
            Option.valued("seed", "S", SEED, "the same seed writes the same bytes, whatever the thread count"),
            Option.valued("shard-gb", "GB", SHARD_GB, "the largest safetensors shard, in GB (2^30 bytes)"),
            Option.valued("quantize", "TYPE", "none: BF16 safetensors",
                    "write DIR/" + Synth.GGUF_FILE + " of this type (" + GgufFileType.accepted() + ") instead of safetensors"),
            ModelCommands.THREADS);

    private Synth() {}

    /** The config of the first {@code layers} layers of {@code full} (raw JSON {@code raw}), in BF16. */
    static ObjectNode firstLayers(JsonNode raw, ErnieConfig full, int layers) {
        ObjectNode config = raw.deepCopy();
        config.put("num_hidden_layers", layers);
        config.put("moe_layer_end_index", Math.min(full.moeLayerEnd(), layers - 1));
        config.put("torch_dtype", "bfloat16");
        return config;
    }

    public static void run(String[] argv, PrintStream out, PrintStream err) {
        CliArgs a = CliArgs.parse(SPEC, argv);
        Path configFile = Path.of(a.required("config"));
        JsonNode raw = Json.readTree(configFile);
        ErnieConfig full = ErnieConfig.parse(raw, configFile.toString());
        int layers = a.integer("layers", full.numLayers(), 1, full.numLayers());
        Path outDir = Path.of(a.required("out"));
        long seed = a.has("seed") ? a.longValue("seed") : SEED;
        long shardBytes = (long) (a.number("shard-gb", SHARD_GB) * (1L << 30));
        if (shardBytes < (1 << 20)) throw new UsageException("--shard-gb must be at least 0.001");
        ObjectNode config = firstLayers(raw, full, layers);
        ErnieConfig cfg = ErnieConfig.parse(config, configFile + " (first " + layers + " layers)");
        try {
            Files.createDirectories(outDir);
            Files.writeString(outDir.resolve("config.json"), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(config));
            writeTokenizer(outDir, cfg);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write to " + outDir + ": " + e.getMessage(), e);
        }
        List<Entry> entries = tensors(cfg);
        if (a.has("quantize")) {
            writeGguf(outDir, cfg, QuantizeCommand.fileType(a, "quantize"), entries, seed, ModelCommands.threads(a), out, err);
            return;
        }
        List<List<Entry>> shards = shard(entries, shardBytes);
        long total = entries.stream().mapToLong(Entry::bytes).sum();
        var progress = new Progress(err, "synth " + outDir.getFileName(), total / 1e9, "GB");
        Map<String, String> weightMap = new LinkedHashMap<>();
        try (var runner = new ParallelRunner(ModelCommands.threads(a))) {
            for (int s = 0; s < shards.size(); s++) {
                String name = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
                for (Entry e : shards.get(s)) weightMap.put(e.name(), name);
                SafetensorsWriter.write(outDir.resolve(name), shards.get(s), Map.of("format", "pt"), (entry, data) -> {
                    fill(entry, data, seed, runner);
                    progress.advance(entry.bytes() / 1e9);
                });
            }
        }
        progress.finish();
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("metadata", Map.of("total_size", total));
        index.put("weight_map", weightMap);
        try {
            Files.writeString(outDir.resolve(Checkpoint.INDEX_FILE), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(index));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.printf("wrote %s: %d layers, %.2f GB in %d shards, seed %d%n", outDir, layers, total / 1e9, shards.size(), seed);
    }

    /** Writes DIR/model.gguf, generating each Hugging Face tensor as the safetensors path would, then converting it. */
    private static void writeGguf(Path outDir, ErnieConfig cfg, GgufFileType type, List<Entry> entries, long seed, int threads,
                                  PrintStream out, PrintStream err) {
        Map<String, Entry> byName = new LinkedHashMap<>();
        for (Entry e : entries) byName.put(e.name(), e);
        Path file = outDir.resolve(GGUF_FILE);
        try (var runner = new ParallelRunner(threads)) {
            var summary = QuantizeCommand.write(file, outDir.getFileName().toString(), cfg, type, ggufTokenizer(cfg), (name, use) -> {
                Entry entry = byName.get(name);
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment data = arena.allocate(entry.bytes());
                    fill(entry, data, seed, runner);
                    use.accept(new Tensor(name, entry.dtype(), entry.shape(), data, "synth"));
                }
            }, runner, err);
            out.println(summary.describe(file, type) + ", seed " + seed);
        }
    }

    static List<Entry> tensors(ErnieConfig c) {
        List<Entry> list = new ArrayList<>();
        int h = c.hiddenSize();
        list.add(bf16("model.embed_tokens.weight", c.vocabSize(), h));
        for (int l = 0; l < c.numLayers(); l++) {
            String p = WeightLoader.layerPrefix(l);
            list.add(bf16(p + "input_layernorm.weight", h));
            list.add(bf16(p + "post_attention_layernorm.weight", h));
            list.add(bf16(p + "self_attn.q_proj.weight", c.queryDim(), h));
            list.add(bf16(p + "self_attn.k_proj.weight", c.kvDim(), h));
            list.add(bf16(p + "self_attn.v_proj.weight", c.kvDim(), h));
            list.add(bf16(p + "self_attn.o_proj.weight", h, c.queryDim()));
            if (c.isMoeLayer(l)) {
                list.add(bf16(p + "mlp.gate.weight", c.numExperts(), h));
                list.add(new Entry(p + "mlp.moe_statics.e_score_correction_bias", DType.F32, new long[] {1, c.numExperts()}));
                for (int e = 0; e < c.numExperts(); e++) mlp(list, p + "mlp.experts." + e, h, c.moeIntermediateSize());
                if (c.numSharedExperts() > 0) mlp(list, p + "mlp.shared_experts", h, c.sharedIntermediateSize());
            } else {
                mlp(list, p + "mlp", h, c.intermediateSize());
            }
        }
        list.add(bf16("model.norm.weight", h));
        if (!c.tieWordEmbeddings()) list.add(bf16("lm_head.weight", c.vocabSize(), h));
        return list;
    }

    private static void mlp(List<Entry> list, String prefix, int hidden, int inter) {
        list.add(bf16(prefix + ".gate_proj.weight", inter, hidden));
        list.add(bf16(prefix + ".up_proj.weight", inter, hidden));
        list.add(bf16(prefix + ".down_proj.weight", hidden, inter));
    }

    private static Entry bf16(String name, long... shape) {
        return new Entry(name, DType.BF16, shape);
    }

    private static List<List<Entry>> shard(List<Entry> entries, long maxBytes) {
        List<List<Entry>> shards = new ArrayList<>();
        List<Entry> current = new ArrayList<>();
        long size = 0;
        for (Entry e : entries) {
            if (!current.isEmpty() && size + e.bytes() > maxBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(e);
            size += e.bytes();
        }
        shards.add(current);
        return shards;
    }

    /** Norm weights are 1; the selection bias is uniform in ±0.01; every other tensor uniform with std 0.02. */
    private static void fill(Entry entry, MemorySegment data, long seed, ParallelRunner runner) {
        long count = entry.bytes() / entry.dtype().bytes();
        boolean norm = entry.name().endsWith("norm.weight");
        boolean bias = entry.dtype() == DType.F32;
        float range = bias ? BIAS_RANGE : INIT_STD * (float) Math.sqrt(3);
        long nameSeed = seed * 0x9E3779B97F4A7C15L ^ entry.name().hashCode();
        int chunks = (int) ((count + CHUNK - 1) / CHUNK);
        runner.run(chunks, chunk -> {
            long from = (long) chunk * CHUNK;
            int n = (int) Math.min(CHUNK, count - from);
            var random = new SplittableRandom(nameSeed + chunk * 0xBF58476D1CE4E5B9L);
            if (bias) {
                for (int i = 0; i < n; i++) {
                    data.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * (from + i), (random.nextFloat() * 2 - 1) * range);
                }
                return;
            }
            short[] values = new short[n];
            if (norm) {
                java.util.Arrays.fill(values, (short) 0x3F80);
            } else {
                for (int i = 0; i < n; i += 4) {
                    long bits = random.nextLong();
                    for (int j = 0; j < 4 && i + j < n; j++) {
                        float u = (((bits >>> (16 * j)) & 0xFFFF) + 0.5f) / 65536f;
                        values[i + j] = toBf16((u * 2 - 1) * range);
                    }
                }
            }
            MemorySegment.copy(values, 0, data, ValueLayout.JAVA_SHORT_UNALIGNED, 2 * from, n);
        });
    }

    private static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /**
     * The synthetic vocabulary in id order: the special tokens, byte fallback tokens, ▁ and printable
     * ASCII as single tokens, and {@code <synth_N>} fillers up to the vocabulary size.
     */
    private static List<String> vocabulary(ErnieConfig c) {
        List<String> tokens = new ArrayList<>(SPECIAL);
        for (int b = 0; b < 256; b++) tokens.add(String.format("<0x%02X>", b));
        tokens.add("\u2581");
        for (char ch = '!'; ch <= '~'; ch++) tokens.add(String.valueOf(ch));
        if (tokens.size() > c.vocabSize()) throw new UsageException("vocab_size " + c.vocabSize() + " is too small for the synthetic tokenizer");
        while (tokens.size() < c.vocabSize()) tokens.add("<synth_" + tokens.size() + ">");
        return tokens;
    }

    /** The same vocabulary as GGUF metadata, so that llama.cpp loads the file too (scripts/bench-llamacpp runs both engines on it). */
    static Map<String, GgufValue> ggufTokenizer(ErnieConfig c) {
        List<String> tokens = vocabulary(c);
        int[] types = new int[tokens.size()];
        for (int id = 0; id < types.length; id++) {
            types[id] = id < SPECIAL.size() ? (id == 0 ? SentencePieceModel.UNKNOWN : SentencePieceModel.CONTROL)
                    : id < SPECIAL.size() + 256 ? SentencePieceModel.BYTE : SentencePieceModel.NORMAL;
        }
        Map<String, Integer> special = new LinkedHashMap<>();
        special.put("bos_token", 1);
        special.put("eos_token", 2);
        special.put("unk_token", 0);
        special.put("pad_token", 0);
        return GgufTokenizerMetadata.ofVocabulary(tokens, types, special, CHAT_TEMPLATE);
    }

    /**
     * A tokenizer.json covering every row of the embedding: the special tokens, byte fallback tokens,
     * printable ASCII and ▁ as single tokens (no merges), and {@code <synth_N>} fillers up to the
     * vocabulary size, so any text encodes and any sampled id decodes.
     */
    private static void writeTokenizer(Path dir, ErnieConfig c) throws IOException {
        ArrayNode addedTokens = Json.MAPPER.createArrayNode();
        ObjectNode vocab = Json.MAPPER.createObjectNode();
        List<String> tokens = vocabulary(c);
        for (int id = 0; id < tokens.size(); id++) {
            if (id < SPECIAL.size()) {
                addedTokens.addObject().put("id", id).put("content", tokens.get(id)).put("single_word", false).put("lstrip", false)
                        .put("rstrip", false).put("normalized", false).put("special", true);
            }
            vocab.put(tokens.get(id), id);
        }
        ObjectNode tok = Json.MAPPER.createObjectNode();
        tok.put("version", "1.0");
        tok.set("added_tokens", addedTokens);
        tok.putNull("normalizer");
        tok.putObject("pre_tokenizer").put("type", "Metaspace").put("replacement", "\u2581").put("prepend_scheme", "never").put("split", false);
        ArrayNode decoders = tok.putObject("decoder").put("type", "Sequence").putArray("decoders");
        decoders.addObject().put("type", "Replace").put("content", " ").putObject("pattern").put("String", "\u2581");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        ObjectNode model = tok.putObject("model");
        model.put("type", "BPE").putNull("dropout").putNull("unk_token").put("fuse_unk", true).put("byte_fallback", true);
        model.set("vocab", vocab);
        model.putArray("merges");
        Files.writeString(dir.resolve("tokenizer.json"), Json.write(tok));
        ObjectNode tc = Json.MAPPER.createObjectNode();
        tc.put("bos_token", "<s>").put("eos_token", "</s>").put("unk_token", "<unk>").put("pad_token", "<unk>")
                .put("cls_token", "<|begin_of_sentence|>").put("sep_token", "<|end_of_sentence|>").put("mask_token", "<mask:1>")
                .put("tokenizer_class", "LlamaTokenizer").put("model_max_length", c.maxPositions());
        Files.writeString(dir.resolve("tokenizer_config.json"), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(tc));
        Files.writeString(dir.resolve("chat_template.jinja"), CHAT_TEMPLATE);
        Files.writeString(dir.resolve("generation_config.json"),
                Json.write(Map.of("bos_token_id", 1, "eos_token_id", 2, "pad_token_id", 0)));
    }
}
