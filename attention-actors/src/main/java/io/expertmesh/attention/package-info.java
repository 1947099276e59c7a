/**
 * The attention side of a step (not built yet): the scheduler with continuous batching, chunked
 * prefill and admission control; sequence state; attention, router and shared expert; dispatch to and
 * combine from expert nodes; LM head, sampling and token events.
 */
package io.expertmesh.attention;
