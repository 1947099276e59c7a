package io.expertmesh.protocol;

/**
 * Rows of one MoE layer of one step for one expert node, sent on its dispatch link:
 * {@code activations} holds {@code rows × hidden} floats; per row {@code k} expert ids and router
 * weights, where an id below 0 marks a choice served by another node.
 */
public record DispatchBatch(long step, int layer, int rows, int hidden, float[] activations, int k, int[] experts,
                            float[] weights) implements MeshMessage {}
