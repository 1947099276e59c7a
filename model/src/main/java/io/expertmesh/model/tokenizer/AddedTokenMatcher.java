package io.expertmesh.model.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds added tokens in text, leftmost-longest as Hugging Face tokenizers does, honouring each
 * token's lstrip / rstrip (absorb neighbouring whitespace) and single_word (only between non-word
 * characters) flags.
 */
final class AddedTokenMatcher {
    /** A stretch of text at offset {@code start}: an added token ({@code addedId ≥ 0}) or plain text. */
    record Piece(String text, int start, int addedId) {}

    private static final class Node {
        final Map<Character, Node> children = new HashMap<>();
        AddedToken token;
    }

    private final Node root = new Node();
    private final boolean empty;

    AddedTokenMatcher(List<AddedToken> tokens) {
        for (AddedToken t : tokens) {
            if (t.content().isEmpty()) continue;
            Node n = root;
            for (char c : t.content().toCharArray()) n = n.children.computeIfAbsent(c, k -> new Node());
            n.token = t;
        }
        empty = root.children.isEmpty();
    }

    List<Piece> split(String text) {
        if (empty) return List.of(new Piece(text, 0, -1));
        List<Piece> pieces = new ArrayList<>();
        int plainStart = 0;
        int i = 0;
        while (i < text.length()) {
            AddedToken match = null;
            int matchEnd = -1;
            Node n = root;
            for (int j = i; j < text.length(); j++) {
                n = n.children.get(text.charAt(j));
                if (n == null) break;
                if (n.token != null && (!n.token.singleWord() || isWordBoundary(text, i, j + 1))) {
                    match = n.token;
                    matchEnd = j + 1;
                }
            }
            if (match == null) {
                i++;
                continue;
            }
            int start = i;
            int end = matchEnd;
            if (match.lstrip()) while (start > plainStart && Character.isWhitespace(text.charAt(start - 1))) start--;
            if (match.rstrip()) while (end < text.length() && Character.isWhitespace(text.charAt(end))) end++;
            if (start > plainStart) pieces.add(new Piece(text.substring(plainStart, start), plainStart, -1));
            pieces.add(new Piece(match.content(), start, match.id()));
            plainStart = end;
            i = end;
        }
        if (plainStart < text.length()) pieces.add(new Piece(text.substring(plainStart), plainStart, -1));
        return pieces;
    }

    private static boolean isWordBoundary(String text, int start, int end) {
        return (start == 0 || !isWordChar(text.charAt(start - 1))) && (end == text.length() || !isWordChar(text.charAt(end)));
    }

    private static boolean isWordChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_';
    }
}
