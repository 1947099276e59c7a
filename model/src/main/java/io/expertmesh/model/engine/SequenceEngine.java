package io.expertmesh.model.engine;

import io.expertmesh.model.config.ErnieConfig;

/**
 * Where a sequence runs, one step at a time: the CPU model ({@link ErnieModel}) or a GPU. Callers
 * that generate one sequence at a time (the CLI, tests, benchmarks) are written against this.
 */
public interface SequenceEngine {
    ErnieConfig config();

    /** A new, empty sequence with its own KV cache on this engine. */
    Sequence newSequence();

    /** One sequence's state on an engine. */
    interface Sequence extends AutoCloseable {
        /** Runs {@code tokens} at the sequence's next positions; returns the logits after the last of them. */
        float[] append(int[] tokens);

        @Override
        void close();
    }
}
