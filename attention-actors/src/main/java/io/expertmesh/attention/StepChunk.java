package io.expertmesh.attention;

/** A sequence's part of one step: positions [start, start + tokens.length); {@code sample} when the chunk ends at the sequence's last token. */
record StepChunk(Sequence sequence, int start, int[] tokens, boolean sample) {}
