package io.expertmesh.attention;

/**
 * A sequence's part of one step: positions [start, start + tokens.length); {@code sample} when the
 * chunk ends at the sequence's last token. {@code promptNext} holds, for the chunk's first
 * {@code promptNext.length} positions, the prompt token that follows each: their rows' log
 * probabilities of it are wanted (the request's prompt log probabilities); empty otherwise.
 */
record StepChunk(Sequence sequence, int start, int[] tokens, boolean sample, int[] promptNext) {}
