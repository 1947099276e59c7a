package io.expertmesh.model.guided;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A DFA over UTF-8 bytes, built from a {@link BytePattern} by Thompson's construction and the
 * subset construction. Bytes are grouped into classes that every transition treats alike, so a
 * state's row is one entry per class. Both automata are bounded ({@link #MAX_NFA_STATES},
 * {@link #MAX_STATES}); a pattern over either is a {@link GuideException}, never an unbounded build.
 */
final class ByteAutomaton {
    static final int MAX_NFA_STATES = 200_000;
    static final int MAX_STATES = 20_000;
    /**
     * NFA states visited while building the DFA: within the state limits a guide could still ask for
     * a very long build (many DFA states, each a large set of NFA states), so the work is bounded too.
     */
    static final long MAX_BUILD_STEPS = 20_000_000L;
    /** A transition to no state: the byte is not allowed there. */
    static final int DEAD = -1;

    /** Byte to its class. */
    private final int[] byteClass;
    private final int classes;
    /** state * classes + class to the next state, or DEAD. */
    private final int[] next;
    private final boolean[] accepting;
    /** Accepting states with no transition: the output is complete and nothing may follow. */
    private final boolean[] complete;

    private ByteAutomaton(int[] byteClass, int classes, int[] next, boolean[] accepting) {
        this.byteClass = byteClass;
        this.classes = classes;
        this.next = next;
        this.accepting = accepting;
        this.complete = new boolean[accepting.length];
        for (int s = 0; s < accepting.length; s++) {
            boolean any = false;
            for (int c = 0; c < classes && !any; c++) any = next[s * classes + c] != DEAD;
            complete[s] = !any && accepting[s];
        }
    }

    int start() {
        return 0;
    }

    int stateCount() {
        return accepting.length;
    }

    int step(int state, int b) {
        return next[state * classes + byteClass[b & 0xFF]];
    }

    boolean accepting(int state) {
        return accepting[state];
    }

    boolean complete(int state) {
        return complete[state];
    }

    /** The most bytes any accepted output has, or -1 when outputs may be arbitrarily long (a cycle). */
    int longestOutput() {
        int n = stateCount();
        int[] longest = new int[n];
        byte[] mark = new byte[n];
        return longestFrom(start(), longest, mark);
    }

    /** Longest accepted path from {@code s} (-1: a cycle is reachable); {@code mark}: 1 on the stack, 2 done. */
    private int longestFrom(int s, int[] longest, byte[] mark) {
        if (mark[s] == 2) return longest[s];
        if (mark[s] == 1) return -1;
        mark[s] = 1;
        int best = accepting[s] ? 0 : Integer.MIN_VALUE;
        for (int c = 0; c < classes; c++) {
            int t = next[s * classes + c];
            if (t == DEAD) continue;
            int rest = longestFrom(t, longest, mark);
            if (rest == -1) return -1;
            if (rest != Integer.MIN_VALUE) best = Math.max(best, rest + 1);
        }
        mark[s] = 2;
        longest[s] = best;
        return best;
    }

    /** Whether the whole of {@code bytes} is in the language. */
    boolean matches(byte[] bytes) {
        int s = start();
        for (byte b : bytes) {
            s = step(s, b);
            if (s == DEAD) return false;
        }
        return accepting(s);
    }

    static ByteAutomaton compile(BytePattern pattern) {
        Nfa nfa = new Nfa();
        int[] fragment = nfa.build(pattern);
        return determinize(nfa, fragment[0], fragment[1]);
    }

    /** Thompson NFA: each state has either one byte-set edge or epsilon edges. */
    private static final class Nfa {
        final List<long[]> sets = new ArrayList<>();
        final List<Integer> targets = new ArrayList<>();
        final List<int[]> epsilons = new ArrayList<>();

        int newState() {
            if (sets.size() >= MAX_NFA_STATES) {
                throw new GuideException("the guide is too large: its automaton would need more than " + MAX_NFA_STATES + " states");
            }
            sets.add(null);
            targets.add(DEAD);
            epsilons.add(new int[0]);
            return sets.size() - 1;
        }

        void epsilon(int from, int to) {
            int[] old = epsilons.get(from);
            int[] grown = Arrays.copyOf(old, old.length + 1);
            grown[old.length] = to;
            epsilons.set(from, grown);
        }

        /** A fragment {start, end} accepting exactly {@code p}. */
        int[] build(BytePattern p) {
            return switch (p) {
                case BytePattern.Bytes b -> {
                    int s = newState(), e = newState();
                    sets.set(s, b.set());
                    targets.set(s, e);
                    yield new int[] {s, e};
                }
                case BytePattern.Concat c -> {
                    int s = newState();
                    int end = s;
                    for (BytePattern part : c.parts()) {
                        int[] f = build(part);
                        epsilon(end, f[0]);
                        end = f[1];
                    }
                    yield new int[] {s, end};
                }
                case BytePattern.Alt a -> {
                    int s = newState(), e = newState();
                    for (BytePattern option : a.options()) {
                        int[] f = build(option);
                        epsilon(s, f[0]);
                        epsilon(f[1], e);
                    }
                    yield new int[] {s, e};
                }
                case BytePattern.Repeat r -> repeat(r);
                case BytePattern.Separated l -> {
                    int s = newState(), e = newState();
                    int[] item = build(l.item());
                    int[] sep = build(l.separator());
                    epsilon(s, item[0]);
                    epsilon(item[1], e);
                    epsilon(item[1], sep[0]);
                    epsilon(sep[1], item[0]);
                    yield new int[] {s, e};
                }
            };
        }

        private int[] repeat(BytePattern.Repeat r) {
            int s = newState();
            int end = s;
            for (int i = 0; i < r.min(); i++) {
                int[] f = build(r.item());
                epsilon(end, f[0]);
                end = f[1];
            }
            int e = newState();
            if (r.max() == BytePattern.UNBOUNDED) {
                int[] f = build(r.item());
                epsilon(end, f[0]);
                epsilon(f[1], f[0]);
                epsilon(f[1], e);
            } else {
                // Each optional copy may end the repetition.
                for (int i = r.min(); i < r.max(); i++) {
                    epsilon(end, e);
                    int[] f = build(r.item());
                    epsilon(end, f[0]);
                    end = f[1];
                }
            }
            epsilon(end, e);
            return new int[] {s, e};
        }
    }

    private static ByteAutomaton determinize(Nfa nfa, int nfaStart, int nfaAccept) {
        int n = nfa.sets.size();
        // Byte classes: bytes that lie in exactly the same NFA byte sets behave alike.
        int[] byteClass = new int[256];
        Map<BitSet, Integer> signatures = new HashMap<>();
        List<Integer> representatives = new ArrayList<>();
        List<long[]> distinct = new ArrayList<>();
        Map<LongArrayKey, Integer> seenSets = new HashMap<>();
        for (int s = 0; s < n; s++) {
            long[] set = nfa.sets.get(s);
            if (set != null && seenSets.putIfAbsent(new LongArrayKey(set), distinct.size()) == null) distinct.add(set);
        }
        for (int b = 0; b < 256; b++) {
            BitSet signature = new BitSet(distinct.size());
            for (int i = 0; i < distinct.size(); i++) if ((distinct.get(i)[b >>> 6] & (1L << b)) != 0) signature.set(i);
            Integer cls = signatures.get(signature);
            if (cls == null) {
                cls = representatives.size();
                signatures.put(signature, cls);
                representatives.add(b);
            }
            byteClass[b] = cls;
        }
        int classes = representatives.size();

        Closures closures = new Closures(nfa);
        Map<IntArrayKey, Integer> ids = new HashMap<>();
        List<int[]> states = new ArrayList<>();
        int[] next = new int[64 * classes];
        List<Boolean> accepting = new ArrayList<>();
        Deque<Integer> work = new ArrayDeque<>();
        int[] first = closures.of(new int[] {nfaStart}, 1);
        ids.put(new IntArrayKey(first), 0);
        states.add(first);
        accepting.add(Arrays.binarySearch(first, nfaAccept) >= 0);
        work.add(0);
        while (!work.isEmpty()) {
            int id = work.poll();
            int[] members = states.get(id);
            closures.count((long) members.length * classes);
            int[] moved = new int[members.length];
            for (int c = 0; c < classes; c++) {
                int b = representatives.get(c);
                int m = 0;
                for (int s : members) {
                    long[] set = nfa.sets.get(s);
                    if (set != null && (set[b >>> 6] & (1L << b)) != 0) moved[m++] = nfa.targets.get(s);
                }
                int target = DEAD;
                if (m > 0) {
                    int[] closed = closures.of(moved, m);
                    IntArrayKey key = new IntArrayKey(closed);
                    Integer known = ids.get(key);
                    if (known == null) {
                        if (states.size() >= MAX_STATES) {
                            throw new GuideException("the guide is too complex: its automaton would need more than " + MAX_STATES + " states");
                        }
                        known = states.size();
                        ids.put(key, known);
                        states.add(closed);
                        accepting.add(Arrays.binarySearch(closed, nfaAccept) >= 0);
                        work.add(known);
                    }
                    target = known;
                }
                int at = id * classes + c;
                if (at >= next.length) next = Arrays.copyOf(next, Math.max(next.length * 2, at + classes));
                next[at] = target;
            }
        }
        boolean[] acc = new boolean[states.size()];
        for (int i = 0; i < acc.length; i++) acc[i] = accepting.get(i);
        return new ByteAutomaton(byteClass, classes, Arrays.copyOf(next, states.size() * classes), acc);
    }

    /**
     * Epsilon closures over one NFA, reusing its buffers: a visit mark per NFA state (the closure's
     * number), a stack and the kept states.
     */
    private static final class Closures {
        private final Nfa nfa;
        private final int[] mark;
        private int[] stack;
        private int[] kept;
        private int epoch;
        private long steps;

        Closures(Nfa nfa) {
            this.nfa = nfa;
            this.mark = new int[nfa.sets.size()];
            this.stack = new int[64];
            this.kept = new int[64];
        }

        /**
         * The sorted set of NFA states reachable from {@code from} by epsilon edges, keeping only
         * those that matter: byte edges and the accept state.
         */
        int[] of(int[] from, int count) {
            epoch++;
            int top = 0, n = 0;
            for (int i = 0; i < count; i++) {
                int s = from[i];
                if (mark[s] == epoch) continue;
                mark[s] = epoch;
                if (top == stack.length) stack = Arrays.copyOf(stack, top * 2);
                stack[top++] = s;
            }
            while (top > 0) {
                int s = stack[--top];
                if (++steps > MAX_BUILD_STEPS) {
                    throw new GuideException("the guide is too complex: building its automaton takes more than " + MAX_BUILD_STEPS + " steps");
                }
                int[] eps = nfa.epsilons.get(s);
                if (nfa.sets.get(s) != null || eps.length == 0) {
                    if (n == kept.length) kept = Arrays.copyOf(kept, n * 2);
                    kept[n++] = s;
                }
                for (int t : eps) {
                    if (mark[t] == epoch) continue;
                    mark[t] = epoch;
                    if (top == stack.length) stack = Arrays.copyOf(stack, top * 2);
                    stack[top++] = t;
                }
            }
            int[] out = Arrays.copyOf(kept, n);
            Arrays.sort(out);
            return out;
        }

        void count(long work) {
            steps += work;
        }
    }

    private record IntArrayKey(int[] a) {
        @Override
        public boolean equals(Object o) {
            return o instanceof IntArrayKey k && Arrays.equals(a, k.a);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(a);
        }
    }

    private record LongArrayKey(long[] a) {
        @Override
        public boolean equals(Object o) {
            return o instanceof LongArrayKey k && Arrays.equals(a, k.a);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(a);
        }
    }
}
