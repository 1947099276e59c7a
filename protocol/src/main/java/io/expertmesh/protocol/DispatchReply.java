package io.expertmesh.protocol;

/** The one answer to a {@link DispatchBatch}, naming the batch's step and layer. */
public sealed interface DispatchReply extends MeshMessage permits PartialSums, DispatchRefused {
    long step();

    int layer();
}
