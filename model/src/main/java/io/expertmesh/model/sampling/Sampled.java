package io.expertmesh.model.sampling;

/** A sampled token and, when the request asked for them, its log probabilities (else null). */
public record Sampled(int token, TokenLogprobs logprobs) {}
