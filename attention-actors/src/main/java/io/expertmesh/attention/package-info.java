/**
 * The attention side of a step: the {@link io.expertmesh.attention.Scheduler} (continuous batching,
 * chunked prefill, admission, preemption), sequence state, the {@link io.expertmesh.attention.EngineStep}
 * that runs attention, router, experts, LM head and sampling, the dispatch/combine path to expert
 * hosts ({@link io.expertmesh.attention.DispatchedMoeFeedForward}), token events and serving metrics.
 */
package io.expertmesh.attention;
