/**
 * The attention side of a step: the {@link io.expertmesh.attention.Scheduler} (continuous batching,
 * chunked prefill, admission, preemption), sequence state, the {@link io.expertmesh.attention.EngineStep}
 * that runs attention, router, experts, LM head and sampling, the dispatch/combine path to expert
 * hosts ({@link io.expertmesh.attention.DispatchedMoeFeedForward} over
 * {@link io.expertmesh.attention.DispatchLinks}), the placement table
 * ({@link io.expertmesh.attention.PlacementTracker}) with per-expert load counts, the
 * {@link io.expertmesh.attention.SharedExpert} actor, token events and serving metrics.
 */
package io.expertmesh.attention;
