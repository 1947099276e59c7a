package io.expertmesh.model.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Byte-pair encoding of one pre-tokenized word, as Hugging Face tokenizers does it: the word starts
 * as one symbol per character (or its UTF-8 bytes as {@code <0xXX>} tokens when the character is not
 * in the vocabulary and byte fallback is on); then the adjacent pair with the lowest merge rank,
 * leftmost first, is merged until no pair has a merge.
 */
final class Bpe {
    private final Map<String, Integer> vocab;
    private final Map<Long, long[]> merges;
    private final boolean byteFallback;
    private final Integer unkId;
    private final boolean fuseUnk;
    private final boolean ignoreMerges;
    private final int[] byteTokens = new int[256];

    /** @param merges pairs (left id, right id) → {rank, merged id} */
    Bpe(Map<String, Integer> vocab, Map<Long, long[]> merges, boolean byteFallback, Integer unkId, boolean fuseUnk,
        boolean ignoreMerges) {
        this.vocab = vocab;
        this.merges = merges;
        this.byteFallback = byteFallback;
        this.unkId = unkId;
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.format("<0x%02X>", b));
            byteTokens[b] = id == null ? -1 : id;
        }
    }

    static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    void encode(String word, List<Integer> out) {
        if (word.isEmpty()) return;
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        List<Integer> initial = new ArrayList<>(word.length());
        boolean lastWasUnk = false;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            String ch = new String(Character.toChars(cp));
            i += ch.length();
            Integer id = vocab.get(ch);
            if (id != null) {
                initial.add(id);
                lastWasUnk = false;
                continue;
            }
            if (byteFallback && allBytesKnown(ch)) {
                for (byte b : ch.getBytes(StandardCharsets.UTF_8)) initial.add(byteTokens[b & 0xFF]);
                lastWasUnk = false;
                continue;
            }
            if (unkId == null) {
                throw new IllegalArgumentException("character U+" + Integer.toHexString(cp).toUpperCase()
                        + " is not in the vocabulary and the tokenizer has no unknown token");
            }
            if (!(fuseUnk && lastWasUnk)) initial.add(unkId);
            lastWasUnk = true;
        }
        mergeAll(initial, out);
    }

    private boolean allBytesKnown(String ch) {
        for (byte b : ch.getBytes(StandardCharsets.UTF_8)) if (byteTokens[b & 0xFF] < 0) return false;
        return true;
    }

    private void mergeAll(List<Integer> initial, List<Integer> out) {
        int n = initial.size();
        int[] id = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] alive = new boolean[n];
        for (int i = 0; i < n; i++) {
            id[i] = initial.get(i);
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            alive[i] = true;
        }
        // Entries are rank << 32 | position: the lowest rank wins, then the leftmost position.
        PriorityQueue<Long> queue = new PriorityQueue<>();
        for (int i = 0; i + 1 < n; i++) offer(queue, id[i], id[i + 1], i);
        while (!queue.isEmpty()) {
            long top = queue.poll();
            int pos = (int) top;
            long rank = top >>> 32;
            if (!alive[pos] || next[pos] < 0) continue;
            int right = next[pos];
            long[] merge = merges.get(pair(id[pos], id[right]));
            if (merge == null || merge[0] != rank) continue;
            id[pos] = (int) merge[1];
            alive[right] = false;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0) offer(queue, id[prev[pos]], id[pos], prev[pos]);
            if (next[pos] >= 0) offer(queue, id[pos], id[next[pos]], pos);
        }
        for (int i = 0; i < n; i++) if (alive[i]) out.add(id[i]);
    }

    private void offer(PriorityQueue<Long> queue, int left, int right, int pos) {
        long[] merge = merges.get(pair(left, right));
        if (merge != null) queue.add((merge[0] << 32) | pos);
    }
}
