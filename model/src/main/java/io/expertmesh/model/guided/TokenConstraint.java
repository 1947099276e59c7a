package io.expertmesh.model.guided;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A {@link Guide} over one vocabulary: which tokens may come next in each automaton state. A
 * state's mask is computed the first time a sequence reaches it (one walk of the vocabulary trie)
 * and cached for every later sequence with the same guide. Each sequence keeps its own
 * {@link State}; a constraint is safe to share between threads.
 */
public final class TokenConstraint {
    private final ByteAutomaton automaton;
    private final TokenVocabulary vocabulary;
    private final AtomicReferenceArray<long[]> masks;

    TokenConstraint(ByteAutomaton automaton, TokenVocabulary vocabulary) {
        this.automaton = automaton;
        this.vocabulary = vocabulary;
        this.masks = new AtomicReferenceArray<>(automaton.stateCount());
    }

    /** A sequence's state at the start of its output. */
    public State start() {
        return new State(automaton.start());
    }

    private long[] mask(int state) {
        long[] mask = masks.get(state);
        if (mask == null) {
            mask = vocabulary.allowed(automaton, state);
            masks.set(state, mask);
        }
        return mask;
    }

    /**
     * Where one sequence is in the guided output. Stop (end-of-sequence) tokens are the caller's:
     * allow them exactly when {@link #accepting()}.
     */
    public final class State {
        private int state;

        private State(int state) {
            this.state = state;
        }

        /**
         * The tokens that may come next, as a bit set (bit {@code id % 64} of word {@code id / 64});
         * shared and cached: do not modify.
         */
        public long[] allowedTokens() {
            return mask(state);
        }

        public boolean allows(int token) {
            long[] mask = mask(state);
            return token >= 0 && token >>> 6 < mask.length && (mask[token >>> 6] & 1L << token) != 0;
        }

        /** The output so far is complete: it may end here. */
        public boolean accepting() {
            return automaton.accepting(state);
        }

        /** The output is complete and nothing may follow: generation should stop. */
        public boolean complete() {
            return automaton.complete(state);
        }

        /** Moves past {@code token}; a token the guide does not allow here is an {@link IllegalStateException}. */
        public void advance(int token) {
            int next = vocabulary.advance(automaton, state, token);
            if (next == ByteAutomaton.DEAD) throw new IllegalStateException("token " + token + " breaks the guided output");
            state = next;
        }
    }
}
