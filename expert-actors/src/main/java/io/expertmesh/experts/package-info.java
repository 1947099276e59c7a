/**
 * The expert side of a cluster: routed experts as Cluster Sharding entities
 * ({@link io.expertmesh.experts.ExpertEntity}: one per expert id, holding that expert's weights for
 * every MoE layer), and the per-node {@link io.expertmesh.experts.ExpertHost} whose dispatch-link
 * server ({@link io.expertmesh.experts.DispatchLinkServer}) runs the grouped expert FFNs of each
 * dispatch batch and returns weighted partial sums.
 */
package io.expertmesh.experts;
