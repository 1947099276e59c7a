package io.expertmesh.model.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * BPE merges derived from a SentencePiece vocabulary and its scores, as transformers'
 * {@code SentencePieceExtractor} ({@code generate_merges}) derives the merges of tokenizer.json: every
 * split of a piece into two pieces of the vocabulary is a merge, ranked by the piece's score (highest
 * first), then the shorter left part, then the shorter right part, then vocabulary order. Lengths are
 * in code points, as Python counts them, and -0.0 ties with 0.0 as it does in Python.
 */
final class SentencePieceMerges {
    private record Merge(int left, int right, int merged, float score, int leftLength, int rightLength) {}

    private static final Comparator<Merge> RANK = ((Comparator<Merge>) (a, b) -> a.score > b.score ? -1 : a.score < b.score ? 1 : 0)
            .thenComparingInt(Merge::leftLength)
            .thenComparingInt(Merge::rightLength)
            .thenComparingInt(Merge::merged)
            .thenComparingInt(Merge::left)
            .thenComparingInt(Merge::right);

    private SentencePieceMerges() {}

    /**
     * The merges among the pieces flagged {@code mergeable}, as {@link Bpe} takes them: (left id, right id)
     * → {rank, merged id}. Scores must not be NaN.
     */
    static Map<Long, long[]> derive(String[] tokens, float[] scores, boolean[] mergeable) {
        Map<String, Integer> ids = new HashMap<>(tokens.length * 2);
        for (int i = 0; i < tokens.length; i++) if (mergeable[i]) ids.putIfAbsent(tokens[i], i);
        List<Merge> merges = new ArrayList<>();
        for (int id = 0; id < tokens.length; id++) {
            if (!mergeable[id] || ids.get(tokens[id]) != id) continue;
            String piece = tokens[id];
            int length = piece.codePointCount(0, piece.length());
            int split = 0;
            for (int leftLength = 1; leftLength < length; leftLength++) {
                split = piece.offsetByCodePoints(split, 1);
                Integer left = ids.get(piece.substring(0, split));
                Integer right = left == null ? null : ids.get(piece.substring(split));
                if (right != null) merges.add(new Merge(left, right, id, scores[id], leftLength, length - leftLength));
            }
        }
        merges.sort(RANK);
        Map<Long, long[]> byPair = new HashMap<>(merges.size() * 2);
        for (int rank = 0; rank < merges.size(); rank++) {
            Merge m = merges.get(rank);
            byPair.putIfAbsent(Bpe.pair(m.left(), m.right()), new long[] {rank, m.merged()});
        }
        return byPair;
    }
}
