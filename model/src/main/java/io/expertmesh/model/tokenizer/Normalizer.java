package io.expertmesh.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.ModelFormatException;
import java.util.ArrayList;
import java.util.List;

/** The normalizers of tokenizer.json this project implements; any other type is refused by name. */
sealed interface Normalizer {
    String apply(String text);

    record Sequence(List<Normalizer> steps) implements Normalizer {
        public String apply(String text) {
            for (Normalizer n : steps) text = n.apply(text);
            return text;
        }
    }

    record Prepend(String prefix) implements Normalizer {
        public String apply(String text) {
            return text.isEmpty() ? text : prefix + text;
        }
    }

    record Replace(String pattern, String content) implements Normalizer {
        public String apply(String text) {
            return text.replace(pattern, content);
        }
    }

    record Unicode(java.text.Normalizer.Form form) implements Normalizer {
        public String apply(String text) {
            return java.text.Normalizer.normalize(text, form);
        }
    }

    static Normalizer parse(JsonNode node, String source) {
        if (node == null || node.isNull()) return null;
        String type = node.path("type").asText();
        return switch (type) {
            case "Sequence" -> {
                List<Normalizer> steps = new ArrayList<>();
                for (JsonNode n : node.path("normalizers")) steps.add(parse(n, source));
                yield new Sequence(steps);
            }
            case "Prepend" -> new Prepend(node.path("prepend").asText());
            case "Replace" -> new Replace(TokenizerJson.stringPattern(node, source), node.path("content").asText());
            case "NFC" -> new Unicode(java.text.Normalizer.Form.NFC);
            case "NFD" -> new Unicode(java.text.Normalizer.Form.NFD);
            case "NFKC" -> new Unicode(java.text.Normalizer.Form.NFKC);
            case "NFKD" -> new Unicode(java.text.Normalizer.Form.NFKD);
            default -> throw new ModelFormatException(source + ": normalizer type '" + type + "' is not supported");
        };
    }
}
