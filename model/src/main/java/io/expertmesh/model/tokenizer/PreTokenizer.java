package io.expertmesh.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.ModelFormatException;
import java.util.ArrayList;
import java.util.List;

/** The pre-tokenizers of tokenizer.json this project implements; any other type is refused by name. */
sealed interface PreTokenizer {
    /**
     * Splits a piece of text into words for BPE.
     *
     * @param atTextStart whether the piece starts the original text (for Metaspace's "first" scheme)
     */
    List<String> split(String piece, boolean atTextStart);

    /**
     * SentencePiece-style spaces: every ' ' becomes the replacement character (▁), a ▁ is prepended
     * per {@code prependScheme} (always / first / never) unless the piece already starts with one,
     * and with {@code split} each ▁ starts a new word.
     */
    record Metaspace(String replacement, String prependScheme, boolean split) implements PreTokenizer {
        public List<String> split(String piece, boolean atTextStart) {
            String s = piece.replace(" ", replacement);
            boolean prepend = switch (prependScheme) {
                case "always" -> true;
                case "first" -> atTextStart;
                default -> false;
            };
            if (prepend && !s.startsWith(replacement)) s = replacement + s;
            if (!split) return List.of(s);
            List<String> words = new ArrayList<>();
            int start = 0;
            for (int i = s.indexOf(replacement, 1); i >= 0; i = s.indexOf(replacement, i + replacement.length())) {
                if (i > start) words.add(s.substring(start, i));
                start = i;
            }
            if (start < s.length()) words.add(s.substring(start));
            return words;
        }
    }

    record Sequence(List<PreTokenizer> steps) implements PreTokenizer {
        public List<String> split(String piece, boolean atTextStart) {
            List<String> words = List.of(piece);
            for (PreTokenizer p : steps) {
                List<String> next = new ArrayList<>();
                for (int i = 0; i < words.size(); i++) next.addAll(p.split(words.get(i), atTextStart && i == 0));
                words = next;
            }
            return words;
        }
    }

    static PreTokenizer parse(JsonNode node, String source) {
        if (node == null || node.isNull()) return null;
        String type = node.path("type").asText();
        return switch (type) {
            case "Metaspace" -> {
                String scheme = TokenizerJson.prependScheme(node, source);
                yield new Metaspace(node.path("replacement").asText("\u2581"), scheme, node.path("split").asBoolean(true));
            }
            case "Sequence" -> {
                List<PreTokenizer> steps = new ArrayList<>();
                for (JsonNode n : node.path("pretokenizers")) steps.add(parse(n, source));
                yield new Sequence(steps);
            }
            default -> throw new ModelFormatException(source + ": pre_tokenizer type '" + type + "' is not supported");
        };
    }
}
