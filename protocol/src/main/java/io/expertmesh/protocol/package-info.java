/**
 * What crosses between nodes, used by both the expert side and the attention side: the messages
 * ({@link io.expertmesh.protocol.MeshMessage}), the frames of a dispatch link
 * ({@link io.expertmesh.protocol.DispatchFrames}) and their byte format
 * ({@link io.expertmesh.protocol.KryoSerializer}, {@link io.expertmesh.protocol.Bf16Packing}).
 */
package io.expertmesh.protocol;
