package io.expertmesh.model.tokenizer;

import static io.expertmesh.model.tokenizer.SentencePieceModel.CONTROL;
import static io.expertmesh.model.tokenizer.SentencePieceModel.UNUSED;
import static io.expertmesh.model.tokenizer.SentencePieceModel.USER_DEFINED;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.gguf.GgufValue;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code tokenizer.*} GGUF metadata of a Hugging Face ERNIE-4.5 model directory, as llama.cpp's
 * {@code convert_hf_to_gguf.py} writes it ({@code _set_vocab_sentencepiece}, gguf-py's
 * {@code SpecialVocab}, then {@code add_space_prefix} from tokenizer_config.json's
 * {@code add_prefix_space}): the pieces of tokenizer.model with their scores and types, padded with
 * unused {@code [PADn]} tokens to config.json's {@code vocab_size}; added_tokens.json and
 * tokenizer_config.json's {@code added_tokens_decoder} on top; the special-token ids of
 * tokenizer_config.json (then config.json's {@code *_token_id}); {@code add_bos/eos/sep_token}; and
 * the chat template. Two differences from llama.cpp, both so that llama.cpp and {@link GgufTokenizer}
 * split text as transformers does: a user-defined piece of tokenizer.model stays user-defined (4)
 * where llama.cpp, asking sentencepiece's Python API, which cannot tell, writes it normal and then
 * BPE-splits it; and a token tokenizer_config.json names as a special token ({@code cls_token},
 * {@code sep_token}, ...) is control (3), special as transformers treats it. The chat template is
 * looked up as {@link ChatTemplate#load} does (chat_template.jinja first), and only a default one is
 * written. {@code scripts/llamacpp/to_gguf.py} writes the same.
 */
public final class GgufTokenizerMetadata {
    /** The special-token types of gguf-py's SpecialVocab, in its order; cls has no GGUF key. */
    private static final List<String> SPECIAL_TYPES = List.of("bos", "eos", "unk", "sep", "pad", "cls", "mask");
    /** The add_*_token flags gguf-py writes. */
    private static final List<String> ADD_FLAGS = List.of("bos", "eos", "sep");
    /** A larger vocabulary is a broken config.json, not a model. */
    private static final int MAX_VOCAB = 1 << 24;
    private static final float PAD_SCORE = -10000f;
    private static final float ADDED_SCORE = -1000f;

    private GgufTokenizerMetadata() {}

    /** The metadata entries, in the order llama.cpp's converter writes them, for {@link io.expertmesh.model.gguf.GgufWriter}. */
    public static Map<String, GgufValue> fromModelDirectory(Path dir) {
        List<SentencePieceModel.Piece> pieces = SentencePieceModel.read(dir.resolve("tokenizer.model")).pieces();
        JsonNode config = optionalJson(dir.resolve("config.json"));
        JsonNode tokenizerConfig = optionalJson(dir.resolve("tokenizer_config.json"));
        int vocabSize = vocabSize(dir, config, pieces.size());
        Set<String> namedSpecial = new HashSet<>();
        for (String type : SPECIAL_TYPES) {
            String content = specialContent(tokenizerConfig, type);
            if (content != null) namedSpecial.add(content);
        }

        String[] tokens = new String[vocabSize];
        float[] scores = new float[vocabSize];
        int[] types = new int[vocabSize];
        for (int id = 0; id < vocabSize; id++) {
            tokens[id] = "[PAD" + id + "]";
            scores[id] = PAD_SCORE;
            types[id] = UNUSED;
        }
        for (int id = 0; id < Math.min(vocabSize, pieces.size()); id++) {
            var p = pieces.get(id);
            tokens[id] = p.text();
            scores[id] = p.score();
            types[id] = p.type() != USER_DEFINED ? p.type() : namedSpecial.contains(p.text()) ? CONTROL : USER_DEFINED;
        }
        Path addedFile = dir.resolve("added_tokens.json");
        for (var e : optionalJson(addedFile).properties()) {
            JsonNode idNode = e.getValue();
            if (!idNode.canConvertToInt() || idNode.asInt() < 0) {
                throw new ModelFormatException(addedFile + ": key '" + e.getKey() + "' has " + idNode + ", not a token id");
            }
            int id = idNode.asInt();
            if (id >= vocabSize) continue;
            tokens[id] = e.getKey();
            scores[id] = ADDED_SCORE;
            types[id] = namedSpecial.contains(e.getKey()) ? CONTROL : USER_DEFINED;
        }
        Path configFile = dir.resolve("tokenizer_config.json");
        for (var e : tokenizerConfig.path("added_tokens_decoder").properties()) {
            int id = addedDecoderId(configFile, e.getKey());
            if (id >= vocabSize) continue;
            JsonNode content = e.getValue().path("content");
            if (!content.isTextual()) {
                throw new ModelFormatException(configFile + ": added_tokens_decoder." + e.getKey() + ".content is missing or not a string");
            }
            String token = content.asText();
            boolean control = e.getValue().path("special").asBoolean(false) || looksSpecial(token) || namedSpecial.contains(token);
            tokens[id] = control ? token : token.replace("\u2581", " ");
            scores[id] = ADDED_SCORE;
            types[id] = control ? CONTROL : USER_DEFINED;
        }

        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put(GgufTokenizer.MODEL_KEY, GgufValue.string(GgufTokenizer.SPM_MODEL));
        m.put(GgufTokenizer.PRE_KEY, GgufValue.string("default"));
        m.put(GgufTokenizer.TOKENS_KEY, GgufValue.strings(Arrays.asList(tokens)));
        m.put(GgufTokenizer.SCORES_KEY, GgufValue.float32s(scores));
        m.put(GgufTokenizer.TYPES_KEY, GgufValue.int32s(types));
        for (String type : SPECIAL_TYPES) {
            String key = GgufTokenizer.SPECIAL_ID_KEYS.get(type + "_token");
            if (key == null) continue;
            Integer id = specialId(tokens, specialContent(tokenizerConfig, type));
            if (id == null) id = configTokenId(dir, config, type, vocabSize);
            if (id != null) m.put(key, GgufValue.uint32(id));
        }
        for (String type : ADD_FLAGS) {
            JsonNode flag = tokenizerConfig.get("add_" + type + "_token");
            if (flag != null && flag.isBoolean()) m.put("tokenizer.ggml.add_" + type + "_token", GgufValue.bool(flag.asBoolean()));
        }
        if (tokenizerConfig.size() > 0) {
            ChatTemplate.templateText(dir).ifPresent(t -> m.put(GgufTokenizer.CHAT_TEMPLATE_KEY, GgufValue.string(t)));
        }
        JsonNode prefix = tokenizerConfig.get("add_prefix_space");
        if (prefix != null && prefix.isBoolean()) m.put(GgufTokenizer.ADD_SPACE_PREFIX_KEY, GgufValue.bool(prefix.asBoolean()));
        return m;
    }

    /**
     * The metadata of a vocabulary given token by token, with every score zero (so nothing merges):
     * {@code specialIds} maps tokenizer_config.json's names ({@code bos_token}, ...) to ids. Random
     * checkpoints written by {@code synth} carry it so that llama.cpp loads them too.
     */
    public static Map<String, GgufValue> ofVocabulary(List<String> tokens, int[] types, Map<String, Integer> specialIds, String chatTemplate) {
        if (types.length != tokens.size()) throw new IllegalArgumentException(tokens.size() + " tokens but " + types.length + " types");
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put(GgufTokenizer.MODEL_KEY, GgufValue.string(GgufTokenizer.SPM_MODEL));
        m.put(GgufTokenizer.PRE_KEY, GgufValue.string("default"));
        m.put(GgufTokenizer.TOKENS_KEY, GgufValue.strings(tokens));
        m.put(GgufTokenizer.SCORES_KEY, GgufValue.float32s(new float[tokens.size()]));
        m.put(GgufTokenizer.TYPES_KEY, GgufValue.int32s(types));
        specialIds.forEach((name, id) -> {
            String key = GgufTokenizer.SPECIAL_ID_KEYS.get(name);
            if (key == null) throw new IllegalArgumentException(name + " is not a special token name");
            m.put(key, GgufValue.uint32(id));
        });
        m.put(GgufTokenizer.CHAT_TEMPLATE_KEY, GgufValue.string(chatTemplate));
        return m;
    }

    private static JsonNode optionalJson(Path file) {
        return Files.exists(file) ? Json.readTree(file) : Json.MAPPER.createObjectNode();
    }

    private static int vocabSize(Path dir, JsonNode config, int pieces) {
        JsonNode size = config.get("vocab_size");
        if (size == null || size.isNull()) return pieces;
        if (!size.canConvertToInt() || size.asInt() < 1 || size.asInt() > MAX_VOCAB) {
            throw new ModelFormatException(dir.resolve("config.json") + ": vocab_size " + size + " is not a vocabulary size in 1.." + MAX_VOCAB);
        }
        return size.asInt();
    }

    /** tokenizer_config.json's {@code <type>_token}: a string, or an object with a string {@code content}. */
    private static String specialContent(JsonNode tokenizerConfig, String type) {
        JsonNode entry = tokenizerConfig.get(type + "_token");
        if (entry == null) return null;
        if (entry.isTextual()) return entry.asText();
        return entry.path("content").isTextual() ? entry.get("content").asText() : null;
    }

    /** The lowest id of the token {@code content}; gguf-py takes the first of tokenizer.json's added tokens, the same id. */
    private static Integer specialId(String[] tokens, String content) {
        if (content == null) return null;
        for (int id = 0; id < tokens.length; id++) if (tokens[id].equals(content)) return id;
        return null;
    }

    private static Integer configTokenId(Path dir, JsonNode config, String type, int vocabSize) {
        JsonNode id = config.get(type + "_token_id");
        if (id == null || !id.isIntegralNumber()) return null;
        if (!id.canConvertToInt() || id.asInt() < 0) {
            throw new ModelFormatException(dir.resolve("config.json") + ": " + type + "_token_id " + id + " is not a token id");
        }
        return id.asInt() < vocabSize ? id.asInt() : null;
    }

    private static int addedDecoderId(Path configFile, String key) {
        if (!key.matches("[0-9]{1,9}")) {
            throw new ModelFormatException(configFile + ": added_tokens_decoder key '" + key + "' is not a token id");
        }
        return Integer.parseInt(key);
    }

    /** llama.cpp's {@code does_token_look_special}: added tokens it makes control though not marked special. */
    private static boolean looksSpecial(String token) {
        return List.of("<pad>", "<mask>", "<2mass>", "[@BOS@]").contains(token)
                || token.startsWith("<|") && token.endsWith("|>")
                || token.startsWith("<\uFF5C") && token.endsWith("\uFF5C>")
                || token.startsWith("<unused") && token.endsWith(">");
    }
}
