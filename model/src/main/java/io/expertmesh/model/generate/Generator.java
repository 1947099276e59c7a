package io.expertmesh.model.generate;

import io.expertmesh.model.engine.SequenceEngine;
import io.expertmesh.model.sampling.Sampler;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.sampling.TokenHistory;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.function.Consumer;

/** Generates one sequence in-process: the whole prompt in one pass, then one token per step. */
public final class Generator {
    private final SequenceEngine model;
    private final Tokenizer tokenizer;

    public Generator(SequenceEngine model, Tokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /**
     * Runs until a stop token, a stop string, a complete guided output or {@code maxNewTokens}. {@code onText} receives the
     * output text in pieces as it becomes final.
     */
    public Generation generate(int[] prompt, SamplingParams params, Consumer<String> onText) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt must hold at least one token");
        int limit = model.config().maxPositions();
        if ((long) prompt.length + params.maxNewTokens() > limit) {
            throw new IllegalArgumentException("prompt (" + prompt.length + " tokens) + max new tokens (" + params.maxNewTokens()
                    + ") exceeds the model's context of " + limit + " tokens");
        }
        var sampler = new Sampler(params);
        var history = new TokenHistory(prompt);
        var text = new OutputText(tokenizer, params.stopStrings());
        int[] generated = new int[params.maxNewTokens()];
        int count = 0;
        FinishReason finish = FinishReason.LENGTH;
        long start = System.nanoTime();
        long prefillEnd = start;
        if (params.maxNewTokens() > 0) {
            try (SequenceEngine.Sequence sequence = model.newSequence()) {
                float[] logits = sequence.append(prompt);
                prefillEnd = System.nanoTime();
                while (true) {
                    int next = sampler.sample(logits, history).token();
                    generated[count++] = next;
                    history.addGenerated(next);
                    if (params.stopTokenIds().contains(next)) {
                        finish = FinishReason.STOP;
                        break;
                    }
                    emit(text.push(next), onText);
                    if (text.stopped() || sampler.guideComplete()) {
                        finish = FinishReason.STOP;
                        break;
                    }
                    if (count == params.maxNewTokens()) break;
                    logits = sequence.append(new int[] {next});
                }
            }
        }
        emit(text.finish(), onText);
        long end = System.nanoTime();
        return new Generation(prompt, Arrays.copyOf(generated, count), text.text(), finish, prefillEnd - start, end - prefillEnd);
    }

    private static void emit(String delta, Consumer<String> onText) {
        if (!delta.isEmpty()) onText.accept(delta);
    }
}
