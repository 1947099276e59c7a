/**
 * Routed experts as Cluster Sharding entities (not built yet): one entity per expert id holding
 * that expert's weights for every MoE layer, the per-node ExpertHost that runs the grouped expert
 * FFNs of a dispatch batch and returns weighted partial sums, the shared-expert actor, and expert
 * placement with per-expert load statistics.
 */
package io.expertmesh.experts;
