/**
 * Routed experts as Cluster Sharding entities ({@link io.expertmesh.experts.ExpertEntity}: one per
 * expert id, holding that expert's weights for every MoE layer), the per-node
 * {@link io.expertmesh.experts.ExpertHost} that runs the grouped expert FFNs of a dispatch batch and
 * returns weighted partial sums, the {@link io.expertmesh.attention.SharedExpert} actor, and the
 * placement table ({@link io.expertmesh.attention.PlacementTracker}) with per-expert load counts.
 */
package io.expertmesh.experts;
