package io.expertmesh.attention;

import io.expertmesh.model.engine.ModelStep;
import io.expertmesh.model.engine.SequenceChunk;
import io.expertmesh.model.engine.StepOutput;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.sampling.Sampled;
import io.expertmesh.model.sampling.Sampler;
import io.expertmesh.model.sampling.TokenLogprobs;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs one scheduler step on the compute thread: one forward pass of the {@link ModelStep} (the CPU
 * model or a GPU, whose KV blocks are the scheduler's pool blocks either way) over every chunk's
 * rows, the LM head for the rows that end a sequence (and for the prompt rows whose log
 * probabilities a request asked for), and sampling of each such sequence's next token.
 */
public final class EngineStep {
    private final ModelStep model;
    private final ExpertLoad load;

    /** Steps {@code model}, counting the router's choices in {@code load}. */
    public EngineStep(ModelStep model, ExpertLoad load) {
        this.model = model;
        this.load = load;
    }

    /**
     * What a step gave each of its chunks: the sampled token (-1 for a chunk that does not sample,
     * or whose sampling failed), its log probabilities when its request asked for them (else null)
     * and, where sampling failed, why; and the log probabilities of the prompt tokens its
     * {@link StepChunk#promptNext} named, in order (empty for none). One sequence's failure is its
     * own: the other chunks of the step keep their tokens.
     */
    record Result(int[] tokens, TokenLogprobs[] logprobs, String[] failures, List<List<TokenLogprobs>> promptLogprobs) {}

    /** Runs the step; per chunk, the sampled token or the reason its sampling failed. */
    Result run(List<StepChunk> chunks) {
        List<Integer> logitRows = new ArrayList<>();
        int row = 0;
        for (StepChunk c : chunks) {
            for (int k = 0; k < c.promptNext().length; k++) logitRows.add(row + k);
            row += c.tokens().length;
            // A sampling chunk ends at or after the prompt's last token, so this row is never one of promptNext's.
            if (c.sample()) logitRows.add(row - 1);
        }
        List<SequenceChunk> batch = new ArrayList<>(chunks.size());
        for (StepChunk c : chunks) batch.add(new SequenceChunk(c.sequence().table, c.start(), c.tokens()));
        StepOutput output = model.forward(batch, logitRows.stream().mapToInt(Integer::intValue).toArray());
        load.add(output.chosenExperts());
        FloatMatrix logits = output.logits();
        int[] next = new int[chunks.size()];
        TokenLogprobs[] logprobs = new TokenLogprobs[chunks.size()];
        String[] failures = new String[chunks.size()];
        List<List<TokenLogprobs>> promptLogprobs = new ArrayList<>(chunks.size());
        Arrays.fill(next, -1);
        int i = 0;
        for (int c = 0; c < chunks.size(); c++) {
            StepChunk chunk = chunks.get(c);
            Sequence s = chunk.sequence();
            // Raw logits, as vLLM's prompt_logprobs: no penalties, bias or temperature.
            List<TokenLogprobs> prompt = new ArrayList<>(chunk.promptNext().length);
            for (int token : chunk.promptNext()) prompt.add(Sampler.logprobs(logits.row(i++), token, s.params.logprobs()));
            promptLogprobs.add(List.copyOf(prompt));
            if (!chunk.sample()) continue;
            float[] rowLogits = logits.row(i++);
            try {
                Sampled sampled = s.sampler.sample(rowLogits, s.history);
                s.history.addGenerated(sampled.token());
                next[c] = sampled.token();
                logprobs[c] = sampled.logprobs();
            } catch (RuntimeException e) {
                failures[c] = "sampling failed: " + e.getMessage();
            }
        }
        return new Result(next, logprobs, failures, promptLogprobs);
    }
}
