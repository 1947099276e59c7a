package io.expertmesh.model.sampling;

/**
 * The log probabilities reported with one sampled token: the log-softmax of the logits after
 * penalties and logit bias, before temperature and the top-k/top-p/min-p filters (as vLLM reports
 * them). {@code topTokens} are the most likely tokens, most likely first, ties by lower id; tokens
 * whose logit is minus infinity (banned) are never among them.
 */
public record TokenLogprobs(int token, float logprob, int[] topTokens, float[] topLogprobs) {
    public TokenLogprobs {
        if (topTokens.length != topLogprobs.length) throw new IllegalArgumentException("topTokens and topLogprobs differ in length");
    }
}
