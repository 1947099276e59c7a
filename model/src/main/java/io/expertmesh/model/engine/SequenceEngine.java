package io.expertmesh.model.engine;

import io.expertmesh.model.config.ErnieConfig;

/**
 * Sequences run one at a time on a {@link ModelStep} (the CPU's or a GPU's), each with its own KV
 * blocks. Callers that generate one sequence at a time (the CLI, tests, benchmarks) are written
 * against this; kv-store's {@code PooledSequences} takes the blocks from a pool as the server does.
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
