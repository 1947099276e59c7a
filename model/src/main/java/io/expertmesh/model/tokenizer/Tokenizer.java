package io.expertmesh.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.ModelFormatException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A Hugging Face {@code tokenizer.json} tokenizer (BPE with byte fallback), implemented in Java and
 * checked against transformers' outputs; {@link GgufTokenizer} builds the same from a GGUF file's
 * SentencePiece vocabulary. Encoding never adds special tokens; callers that need a
 * BOS or a chat frame put it in the text (the chat template does).
 *
 * <p>Encoding: added tokens are cut out of the text first (leftmost-longest, whole), each remaining
 * piece is normalized, pre-tokenized into words and BPE-encoded. Decoding maps ids back to token
 * strings (dropping special tokens on request) and runs the decoder chain.
 */
public final class Tokenizer {
    private final Map<String, Integer> vocab;
    private final String[] tokens;
    private final boolean[] special;
    private final Bpe bpe;
    private final AddedTokenMatcher rawAdded;
    private final AddedTokenMatcher normalizedAdded;
    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final Decoder decoder;

    private Tokenizer(Map<String, Integer> vocab, String[] tokens, boolean[] special, Bpe bpe,
                      AddedTokenMatcher rawAdded, AddedTokenMatcher normalizedAdded, Normalizer normalizer,
                      PreTokenizer preTokenizer, Decoder decoder) {
        this.vocab = vocab;
        this.tokens = tokens;
        this.special = special;
        this.bpe = bpe;
        this.rawAdded = rawAdded;
        this.normalizedAdded = normalizedAdded;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.decoder = decoder;
    }

    public static Tokenizer load(Path modelDir) {
        Path file = modelDir.resolve("tokenizer.json");
        if (!Files.exists(file)) {
            throw new ModelFormatException(file + ": file not found (a Hugging Face tokenizer.json is required)");
        }
        return parse(Json.readTree(file), file.toString());
    }

    static Tokenizer parse(JsonNode root, String source) {
        JsonNode model = root.path("model");
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE")) throw new ModelFormatException(source + ": model type '" + type + "' is not supported (only BPE)");
        for (String key : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            if (model.hasNonNull(key) && !model.get(key).asText().isEmpty()) {
                throw new ModelFormatException(source + ": BPE '" + key + "' is not supported");
            }
        }
        if (model.hasNonNull("dropout") && model.get("dropout").asDouble() != 0) {
            throw new ModelFormatException(source + ": BPE dropout is not supported for inference");
        }
        JsonNode vocabNode = model.path("vocab");
        if (!vocabNode.isObject() || vocabNode.isEmpty()) throw new ModelFormatException(source + ": model.vocab is missing or empty");
        Map<String, Integer> vocab = new HashMap<>(vocabNode.size() * 2);
        int maxId = -1;
        for (var e : vocabNode.properties()) {
            int id = e.getValue().asInt(-1);
            if (id < 0) throw new ModelFormatException(source + ": vocab entry '" + e.getKey() + "' has an invalid id " + e.getValue());
            vocab.put(e.getKey(), id);
            maxId = Math.max(maxId, id);
        }
        List<AddedToken> added = new ArrayList<>();
        for (JsonNode a : root.path("added_tokens")) {
            added.add(new AddedToken(a.path("id").asInt(), a.path("content").asText(), a.path("special").asBoolean(),
                    a.path("lstrip").asBoolean(), a.path("rstrip").asBoolean(), a.path("single_word").asBoolean(),
                    a.path("normalized").asBoolean()));
            maxId = Math.max(maxId, a.path("id").asInt());
        }
        String[] tokens = new String[maxId + 1];
        boolean[] special = new boolean[maxId + 1];
        vocab.forEach((t, id) -> tokens[id] = t);
        for (AddedToken a : added) {
            tokens[a.id()] = a.content();
            special[a.id()] = a.special();
        }
        Map<Long, long[]> merges = parseMerges(model.path("merges"), vocab, source);
        JsonNode unk = model.get("unk_token");
        Integer unkId = null;
        if (unk != null && !unk.isNull()) {
            unkId = vocab.get(unk.asText());
            if (unkId == null) throw new ModelFormatException(source + ": unk_token '" + unk.asText() + "' is not in the vocabulary");
        }
        var bpe = new Bpe(vocab, merges, model.path("byte_fallback").asBoolean(false), unkId,
                model.path("fuse_unk").asBoolean(false), model.path("ignore_merges").asBoolean(false));
        return of(vocab, tokens, special, bpe, added, Normalizer.parse(root.get("normalizer"), source),
                PreTokenizer.parse(root.get("pre_tokenizer"), source), Decoder.parse(root.get("decoder"), source));
    }

    /** A tokenizer of these parts, however they were read; {@code normalizer}, {@code preTokenizer} and {@code decoder} may be null. */
    static Tokenizer of(Map<String, Integer> vocab, String[] tokens, boolean[] special, Bpe bpe, List<AddedToken> added,
                        Normalizer normalizer, PreTokenizer preTokenizer, Decoder decoder) {
        return new Tokenizer(vocab, tokens, special, bpe,
                new AddedTokenMatcher(added.stream().filter(a -> !a.normalized()).toList()),
                new AddedTokenMatcher(added.stream().filter(AddedToken::normalized).toList()),
                normalizer, preTokenizer, decoder);
    }

    private static Map<Long, long[]> parseMerges(JsonNode mergesNode, Map<String, Integer> vocab, String source) {
        Map<Long, long[]> merges = new HashMap<>(mergesNode.size() * 2);
        int rank = 0;
        for (JsonNode m : mergesNode) {
            String left, right;
            if (m.isArray() && m.size() == 2) {
                left = m.get(0).asText();
                right = m.get(1).asText();
            } else {
                String s = m.asText();
                int space = s.indexOf(' ', 1);
                if (space < 0) throw new ModelFormatException(source + ": merge " + rank + " (\"" + s + "\") is not two tokens");
                left = s.substring(0, space);
                right = s.substring(space + 1);
            }
            Integer l = vocab.get(left), r = vocab.get(right), merged = vocab.get(left + right);
            if (l == null || r == null || merged == null) {
                throw new ModelFormatException(source + ": merge " + rank + " (" + left + " " + right + ") uses a token not in the vocabulary");
            }
            merges.putIfAbsent(Bpe.pair(l, r), new long[] {rank, merged});
            rank++;
        }
        return merges;
    }

    /** Token ids of {@code text}, with no special tokens added. */
    public int[] encode(String text) {
        List<Integer> ids = new ArrayList<>();
        for (AddedTokenMatcher.Piece raw : rawAdded.split(text)) {
            if (raw.addedId() >= 0) {
                ids.add(raw.addedId());
                continue;
            }
            String normalized = normalizer == null ? raw.text() : normalizer.apply(raw.text());
            for (AddedTokenMatcher.Piece piece : normalizedAdded.split(normalized)) {
                if (piece.addedId() >= 0) {
                    ids.add(piece.addedId());
                    continue;
                }
                boolean atStart = raw.start() == 0 && piece.start() == 0;
                List<String> words = preTokenizer == null ? List.of(piece.text()) : preTokenizer.split(piece.text(), atStart);
                for (String w : words) bpe.encode(w, ids);
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> pieces = new ArrayList<>(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= tokens.length || tokens[id] == null) {
                throw new IllegalArgumentException("token id " + id + " is not in the tokenizer's vocabulary");
            }
            if (skipSpecialTokens && special[id]) continue;
            pieces.add(tokens[id]);
        }
        if (decoder != null) pieces = decoder.decode(pieces);
        return String.join("", pieces);
    }

    /**
     * How one token reads in the middle of an output, for log probabilities: its text after the
     * decoder's per-token steps and that text's UTF-8 bytes. A byte-fallback token ({@code <0xE4>})
     * is its raw byte; its text is that character when it is ASCII, else the token's own name.
     */
    public TokenBytes tokenBytes(int id) {
        if (id < 0 || id >= tokens.length || tokens[id] == null) {
            throw new IllegalArgumentException("token id " + id + " is not in the tokenizer's vocabulary");
        }
        String token = tokens[id];
        int b = Decoder.ByteFallback.byteValue(token);
        if (b >= 0) return new TokenBytes(b < 0x80 ? String.valueOf((char) b) : token, new byte[] {(byte) b});
        String text = decoder == null || special[id] ? token : decoder.piece(token);
        return new TokenBytes(text, text.getBytes(StandardCharsets.UTF_8));
    }

    /** The id of a token string (vocabulary or added token). */
    public OptionalInt tokenId(String token) {
        Integer id = vocab.get(token);
        if (id != null) return OptionalInt.of(id);
        for (int i = 0; i < tokens.length; i++) if (token.equals(tokens[i])) return OptionalInt.of(i);
        return OptionalInt.empty();
    }

    /** Whether {@code id} is a special token, or no token at all: such ids never appear inside guided output. */
    public boolean isSpecial(int id) {
        return id < 0 || id >= tokens.length || tokens[id] == null || special[id];
    }

    /** One more than the largest token id. */
    public int size() {
        return tokens.length;
    }
}
