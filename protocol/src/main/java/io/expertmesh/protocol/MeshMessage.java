package io.expertmesh.protocol;

/**
 * Marks a message that may travel between nodes. Such messages hold only primitives, primitive
 * arrays, strings and actor references, so the cluster's serializer can carry them.
 */
public interface MeshMessage {}
