/**
 * Load tests for SSE and WebSocket streaming; they talk HTTP only and depend on no server module. Here:
 * the parts that need no Gatling (request generation, chunk validation, the reader of Gatling's
 * {@code simulation.log}, the warm-up and the summary); {@code /metrics} is read by tools'
 * {@link io.expertmesh.tools.MetricsText}. The Gatling simulation itself is in {@code src/gatling} and is
 * built with the {@code gatling} Maven profile.
 */
package io.expertmesh.loadtests;
