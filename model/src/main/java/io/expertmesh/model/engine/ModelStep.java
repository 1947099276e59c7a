package io.expertmesh.model.engine;

import io.expertmesh.model.config.ErnieConfig;
import java.util.List;

/**
 * One forward step of the model, whatever runs it (the CPU or a GPU): the chunks of many sequences
 * as consecutive rows, each chunk's keys and values written to and read from its {@link KvCache}
 * (a kv-store block table, whose blocks a GPU keeps in device memory), and the logits of the rows
 * that want them. Every backend runs the MoE layers' routed experts through a {@link MoeFeedForward},
 * so experts on other nodes serve a GPU step as they serve a CPU one.
 */
public interface ModelStep {
    ErnieConfig config();

    /**
     * Runs {@code chunks} (each cache must already address the chunk's last position) and returns the
     * logits of {@code logitRows}, indices into all rows of the step in order (none may be asked).
     */
    StepOutput forward(List<SequenceChunk> chunks, int[] logitRows);
}
