package io.expertmesh.model.generate;

/** A finished generation: ids in and out, the text, why it ended, and how long prefill and decode took. */
public record Generation(
        int[] promptIds, int[] generatedIds, String text, FinishReason finishReason, long prefillNanos, long decodeNanos) {}
