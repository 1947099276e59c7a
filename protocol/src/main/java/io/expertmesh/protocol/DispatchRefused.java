package io.expertmesh.protocol;

/** The batch named an expert the node does not host (it moved), or the compute failed. */
public record DispatchRefused(long step, int layer, String node, String reason) implements DispatchReply {}
