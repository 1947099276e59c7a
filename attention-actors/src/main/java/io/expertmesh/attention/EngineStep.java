package io.expertmesh.attention;

import io.expertmesh.experts.ExpertLoad;
import io.expertmesh.model.engine.ErnieModel;
import io.expertmesh.model.engine.ForwardTrace;
import io.expertmesh.model.engine.Routing;
import io.expertmesh.model.engine.SequenceChunk;
import io.expertmesh.model.kernels.FloatMatrix;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs one scheduler step on the compute thread: one forward pass over every chunk's rows, the LM
 * head for the rows that end a sequence, and sampling of each such sequence's next token.
 */
public final class EngineStep {
    private final ErnieModel model;
    private final ForwardTrace trace;

    public EngineStep(ErnieModel model, ExpertLoad load) {
        this.model = model;
        this.trace = new ForwardTrace() {
            @Override
            public void routing(int layer, Routing routing) {
                load.add(routing.experts());
            }
        };
    }

    public ErnieModel model() {
        return model;
    }

    /** Returns, per chunk, the sampled token, or -1 for a chunk that does not sample. */
    int[] run(List<StepChunk> chunks) {
        List<SequenceChunk> batch = new ArrayList<>(chunks.size());
        List<Integer> sampleRows = new ArrayList<>();
        int row = 0;
        for (StepChunk c : chunks) {
            batch.add(new SequenceChunk(c.sequence().table, c.start(), c.tokens()));
            row += c.tokens().length;
            if (c.sample()) sampleRows.add(row - 1);
        }
        FloatMatrix hidden = model.forward(batch, trace);
        int[] next = new int[chunks.size()];
        Arrays.fill(next, -1);
        if (sampleRows.isEmpty()) return next;
        FloatMatrix logits = model.logits(hidden, sampleRows.stream().mapToInt(Integer::intValue).toArray());
        int i = 0;
        for (int c = 0; c < chunks.size(); c++) {
            if (!chunks.get(c).sample()) continue;
            Sequence s = chunks.get(c).sequence();
            int token = s.sampler.sample(logits.row(i++), s.history);
            s.history.addGenerated(token);
            next[c] = token;
        }
        return next;
    }
}
