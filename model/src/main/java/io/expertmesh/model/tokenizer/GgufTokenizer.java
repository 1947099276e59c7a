package io.expertmesh.model.tokenizer;

import static io.expertmesh.model.tokenizer.SentencePieceModel.BYTE;
import static io.expertmesh.model.tokenizer.SentencePieceModel.CONTROL;
import static io.expertmesh.model.tokenizer.SentencePieceModel.UNKNOWN;
import static io.expertmesh.model.tokenizer.SentencePieceModel.USER_DEFINED;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.gguf.GgufMetadata;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer and chat template a GGUF file carries in its {@code tokenizer.*} metadata, built as the
 * project's one {@link Tokenizer}. Only llama.cpp's {@code llama} vocabulary (SentencePiece BPE) is
 * read: its BPE merges are derived from the scores as transformers derives tokenizer.json's
 * ({@link SentencePieceMerges}), missing characters fall back to the {@code <0xXX>} byte tokens,
 * unknown, control and user-defined tokens are matched whole before BPE (control and unknown ones are
 * special: dropped when decoding skips special tokens), and spaces become ▁, with one more ▁ before
 * each stretch of text when {@code add_space_prefix} is on (llama.cpp's default), as in llama.cpp.
 */
public final class GgufTokenizer {
    public static final String MODEL_KEY = "tokenizer.ggml.model";
    static final String PRE_KEY = "tokenizer.ggml.pre";
    static final String TOKENS_KEY = "tokenizer.ggml.tokens";
    static final String SCORES_KEY = "tokenizer.ggml.scores";
    static final String TYPES_KEY = "tokenizer.ggml.token_type";
    static final String ADD_SPACE_PREFIX_KEY = "tokenizer.ggml.add_space_prefix";
    public static final String CHAT_TEMPLATE_KEY = "tokenizer.chat_template";
    static final String SPM_MODEL = "llama";
    /** The special-token ids GGUF records, by transformers' name for them (the chat template's variable). */
    static final Map<String, String> SPECIAL_ID_KEYS = specialIdKeys();
    private static final String SPACE = "\u2581";

    private GgufTokenizer() {}

    private static Map<String, String> specialIdKeys() {
        Map<String, String> keys = new LinkedHashMap<>();
        keys.put("bos_token", "tokenizer.ggml.bos_token_id");
        keys.put("eos_token", "tokenizer.ggml.eos_token_id");
        keys.put("unk_token", "tokenizer.ggml.unknown_token_id");
        keys.put("sep_token", "tokenizer.ggml.seperator_token_id");
        keys.put("pad_token", "tokenizer.ggml.padding_token_id");
        keys.put("mask_token", "tokenizer.ggml.mask_token_id");
        return keys;
    }

    public static Tokenizer from(GgufMetadata m) {
        String model = m.string(MODEL_KEY);
        if (!model.equals(SPM_MODEL)) {
            throw error(m, MODEL_KEY, "is \"" + model + "\"; only \"" + SPM_MODEL + "\" (a SentencePiece vocabulary) is supported");
        }
        String[] tokens = m.strings(TOKENS_KEY);
        if (tokens.length == 0) throw error(m, TOKENS_KEY, "is empty");
        float[] scores = m.floats(SCORES_KEY);
        requireLength(m, SCORES_KEY, scores.length, tokens.length);
        for (int i = 0; i < scores.length; i++) if (Float.isNaN(scores[i])) throw error(m, SCORES_KEY, "element " + i + " is NaN");
        int[] types = tokenTypes(m, tokens.length);
        for (String key : SPECIAL_ID_KEYS.values()) if (m.has(key)) tokenId(m, key, tokens.length);
        String unkKey = SPECIAL_ID_KEYS.get("unk_token");
        Integer unkId = m.has(unkKey) ? tokenId(m, unkKey, tokens.length) : null;
        boolean addSpacePrefix = !m.has(ADD_SPACE_PREFIX_KEY) || m.bool(ADD_SPACE_PREFIX_KEY);

        Map<String, Integer> vocab = new HashMap<>(tokens.length * 2);
        boolean[] special = new boolean[tokens.length];
        boolean[] mergeable = new boolean[tokens.length];
        List<AddedToken> added = new ArrayList<>();
        for (int id = 0; id < tokens.length; id++) {
            vocab.putIfAbsent(tokens[id], id);
            int type = types[id];
            special[id] = type == UNKNOWN || type == CONTROL;
            if (special[id] || type == USER_DEFINED) added.add(new AddedToken(id, tokens[id], special[id], false, false, false, false));
            // Type 0 is llama.cpp's "undefined", which it tokenizes as normal.
            mergeable[id] = type == SentencePieceModel.NORMAL || type == 0;
        }
        var bpe = new Bpe(vocab, SentencePieceMerges.derive(tokens, scores, mergeable), true, unkId, true, false);
        Normalizer escape = new Normalizer.Replace(" ", SPACE);
        Normalizer normalizer = addSpacePrefix ? new Normalizer.Sequence(List.of(new Normalizer.Prepend(SPACE), escape)) : escape;
        List<Decoder> decoder = new ArrayList<>(List.of(new Decoder.Replace(SPACE, " "), new Decoder.ByteFallback(), new Decoder.Fuse()));
        if (addSpacePrefix) decoder.add(new Decoder.Strip(' ', 1, 0));
        return Tokenizer.of(vocab, tokens, special, bpe, added, normalizer, null, new Decoder.Sequence(decoder));
    }

    /**
     * The file's {@code tokenizer.chat_template}, given the special tokens the file names as variables
     * ({@code bos_token}, {@code sep_token}, ...) as transformers gives those of tokenizer_config.json.
     */
    public static ChatTemplate chatTemplate(GgufMetadata m) {
        String template = m.string(CHAT_TEMPLATE_KEY);
        Map<String, String> variables = new LinkedHashMap<>();
        if (m.has(TOKENS_KEY)) {
            String[] tokens = m.strings(TOKENS_KEY);
            SPECIAL_ID_KEYS.forEach((name, key) -> {
                if (m.has(key)) variables.put(name, tokens[tokenId(m, key, tokens.length)]);
            });
        }
        return new ChatTemplate(template, variables);
    }

    private static int[] tokenTypes(GgufMetadata m, int count) {
        if (!m.has(TYPES_KEY)) {
            int[] normal = new int[count];
            Arrays.fill(normal, SentencePieceModel.NORMAL);
            return normal;
        }
        int[] types = m.integers(TYPES_KEY);
        requireLength(m, TYPES_KEY, types.length, count);
        for (int i = 0; i < types.length; i++) {
            if (types[i] < 0 || types[i] > BYTE) throw error(m, TYPES_KEY, "element " + i + " is " + types[i] + ", not a token type 0..6");
        }
        return types;
    }

    private static int tokenId(GgufMetadata m, String key, int vocabSize) {
        int id = m.integer(key);
        if (id < 0 || id >= vocabSize) throw error(m, key, "is " + id + ", not a token id below the vocabulary size " + vocabSize);
        return id;
    }

    private static void requireLength(GgufMetadata m, String key, int length, int tokens) {
        if (length != tokens) throw error(m, key, "has " + length + " elements, but " + TOKENS_KEY + " has " + tokens);
    }

    private static ModelFormatException error(GgufMetadata m, String key, String problem) {
        return new ModelFormatException(m.file() + ": metadata key " + key + " " + problem);
    }
}
