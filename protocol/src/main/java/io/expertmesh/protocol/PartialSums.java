package io.expertmesh.protocol;

/** Per row, {@code Σ w · expert(x)} over the row's experts on the answering node, {@code rows × hidden} floats. */
public record PartialSums(long step, int layer, float[] sums) implements DispatchReply {}
