package io.expertmesh.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.ModelFormatException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The decoders of tokenizer.json this project implements; any other type is refused by name. */
sealed interface Decoder {
    List<String> decode(List<String> tokens);

    /**
     * The text of one token in the middle of a text: the per-token steps apply, while those that
     * act on the start of a text (a first space stripped) or join tokens do not.
     */
    String piece(String token);

    record Sequence(List<Decoder> steps) implements Decoder {
        public List<String> decode(List<String> tokens) {
            for (Decoder d : steps) tokens = d.decode(tokens);
            return tokens;
        }

        public String piece(String token) {
            for (Decoder d : steps) token = d.piece(token);
            return token;
        }
    }

    record Replace(String pattern, String content) implements Decoder {
        public List<String> decode(List<String> tokens) {
            return tokens.stream().map(t -> t.replace(pattern, content)).toList();
        }

        public String piece(String token) {
            return token.replace(pattern, content);
        }
    }

    /** Runs of {@code <0xXX>} tokens become the text they encode, or one U+FFFD per byte if not valid UTF-8. */
    record ByteFallback() implements Decoder {
        public String piece(String token) {
            return token;
        }

        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            List<Byte> pending = new ArrayList<>();
            for (String t : tokens) {
                int b = byteValue(t);
                if (b >= 0) {
                    pending.add((byte) b);
                    continue;
                }
                flush(pending, out);
                out.add(t);
            }
            flush(pending, out);
            return out;
        }

        private static void flush(List<Byte> pending, List<String> out) {
            if (pending.isEmpty()) return;
            byte[] bytes = new byte[pending.size()];
            for (int i = 0; i < bytes.length; i++) bytes[i] = pending.get(i);
            try {
                out.add(StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes)).toString());
            } catch (CharacterCodingException e) {
                for (int i = 0; i < bytes.length; i++) out.add("\uFFFD");
            }
            pending.clear();
        }

        static int byteValue(String token) {
            if (token.length() != 6 || !token.startsWith("<0x") || token.charAt(5) != '>') return -1;
            try {
                return Integer.parseInt(token.substring(3, 5), 16);
            } catch (NumberFormatException e) {
                return -1;
            }
        }
    }

    record Fuse() implements Decoder {
        public List<String> decode(List<String> tokens) {
            return List.of(String.join("", tokens));
        }

        public String piece(String token) {
            return token;
        }
    }

    /** Removes up to {@code start} leading and {@code stop} trailing {@code content} characters of each token. */
    record Strip(char content, int start, int stop) implements Decoder {
        public List<String> decode(List<String> tokens) {
            return tokens.stream().map(this::strip).toList();
        }

        public String piece(String token) {
            return token;
        }

        private String strip(String t) {
            int a = 0, b = t.length();
            while (a < b && a < start && t.charAt(a) == content) a++;
            int removed = 0;
            while (b > a && removed < stop && t.charAt(b - 1) == content) {
                b--;
                removed++;
            }
            return t.substring(a, b);
        }
    }

    record Metaspace(String replacement, boolean stripFirstSpace) implements Decoder {
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                String t = tokens.get(i).replace(replacement, " ");
                if (i == 0 && stripFirstSpace && t.startsWith(" ")) t = t.substring(1);
                out.add(t);
            }
            return out;
        }

        public String piece(String token) {
            return token.replace(replacement, " ");
        }
    }

    static Decoder parse(JsonNode node, String source) {
        if (node == null || node.isNull()) return null;
        String type = node.path("type").asText();
        return switch (type) {
            case "Sequence" -> {
                List<Decoder> steps = new ArrayList<>();
                for (JsonNode n : node.path("decoders")) steps.add(parse(n, source));
                yield new Sequence(steps);
            }
            case "Replace" -> new Replace(TokenizerJson.stringPattern(node, source), node.path("content").asText());
            case "ByteFallback" -> new ByteFallback();
            case "Fuse" -> new Fuse();
            case "Strip" -> {
                String c = node.path("content").asText(" ");
                if (c.length() != 1) throw new ModelFormatException(source + ": Strip decoder content must be one character");
                yield new Strip(c.charAt(0), node.path("start").asInt(0), node.path("stop").asInt(0));
            }
            case "Metaspace" -> {
                String scheme = TokenizerJson.prependScheme(node, source);
                yield new Metaspace(node.path("replacement").asText("\u2581"), !scheme.equals("never"));
            }
            default -> throw new ModelFormatException(source + ": decoder type '" + type + "' is not supported");
        };
    }
}
