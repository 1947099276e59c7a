package io.expertmesh.model.guided;

import io.expertmesh.model.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A tokenizer's vocabulary as a trie over each token's output bytes ({@link Tokenizer#tokenBytes}),
 * so that walking an automaton over every token shares common prefixes. Special and added tokens
 * that are special, and tokens with no bytes, are left out: constrained output never contains them.
 * Built once per tokenizer.
 */
public final class TokenVocabulary {
    private final byte[][] tokenBytes;
    /** Per trie node: its child nodes, and the byte that leads to each. Node 0 is the root. */
    private final int[][] children;
    private final byte[][] childBytes;
    /** Per trie node: the tokens whose bytes end there. */
    private final int[][] tokensAt;

    private TokenVocabulary(byte[][] tokenBytes, int[][] children, byte[][] childBytes, int[][] tokensAt) {
        this.tokenBytes = tokenBytes;
        this.children = children;
        this.childBytes = childBytes;
        this.tokensAt = tokensAt;
    }

    public static TokenVocabulary of(Tokenizer tokenizer) {
        int size = tokenizer.size();
        byte[][] bytes = new byte[size][];
        for (int id = 0; id < size; id++) {
            if (tokenizer.isSpecial(id)) continue;
            byte[] b = tokenizer.tokenBytes(id).bytes();
            if (b.length > 0) bytes[id] = b;
        }
        return of(bytes);
    }

    /** A vocabulary whose token {@code i} outputs {@code tokenBytes[i]} (null: never allowed). */
    static TokenVocabulary of(byte[][] tokenBytes) {
        List<int[]> kids = new ArrayList<>();
        List<byte[]> kidBytes = new ArrayList<>();
        List<int[]> ends = new ArrayList<>();
        kids.add(new int[0]);
        kidBytes.add(new byte[0]);
        ends.add(new int[0]);
        for (int id = 0; id < tokenBytes.length; id++) {
            byte[] b = tokenBytes[id];
            if (b == null) continue;
            int node = 0;
            for (byte x : b) {
                int found = -1;
                byte[] kb = kidBytes.get(node);
                for (int i = 0; i < kb.length; i++) if (kb[i] == x) found = kids.get(node)[i];
                if (found < 0) {
                    found = kids.size();
                    kids.add(new int[0]);
                    kidBytes.add(new byte[0]);
                    ends.add(new int[0]);
                    int[] k = Arrays.copyOf(kids.get(node), kb.length + 1);
                    k[kb.length] = found;
                    byte[] nb = Arrays.copyOf(kb, kb.length + 1);
                    nb[kb.length] = x;
                    kids.set(node, k);
                    kidBytes.set(node, nb);
                }
                node = found;
            }
            int[] e = ends.get(node);
            e = Arrays.copyOf(e, e.length + 1);
            e[e.length - 1] = id;
            ends.set(node, e);
        }
        return new TokenVocabulary(tokenBytes, kids.toArray(int[][]::new), kidBytes.toArray(byte[][]::new),
                ends.toArray(int[][]::new));
    }

    /** One more than the largest token id. */
    public int size() {
        return tokenBytes.length;
    }

    /** The tokens whose bytes the automaton reads from {@code state} without dying, as a bit set of {@link #size()} bits. */
    long[] allowed(ByteAutomaton automaton, int state) {
        long[] mask = new long[(tokenBytes.length + 63) >>> 6];
        walk(automaton, 0, state, mask);
        return mask;
    }

    private void walk(ByteAutomaton automaton, int node, int state, long[] mask) {
        int[] kids = children[node];
        byte[] kb = childBytes[node];
        for (int i = 0; i < kids.length; i++) {
            int next = automaton.step(state, kb[i]);
            if (next == ByteAutomaton.DEAD) continue;
            int child = kids[i];
            for (int id : tokensAt[child]) mask[id >>> 6] |= 1L << id;
            walk(automaton, child, next, mask);
        }
    }

    /** The state after reading token {@code id}'s bytes from {@code state}, or DEAD (also for a token left out). */
    int advance(ByteAutomaton automaton, int state, int id) {
        if (id < 0 || id >= tokenBytes.length || tokenBytes[id] == null) return ByteAutomaton.DEAD;
        int s = state;
        for (byte b : tokenBytes[id]) {
            s = automaton.step(s, b);
            if (s == ByteAutomaton.DEAD) return s;
        }
        return s;
    }
}
