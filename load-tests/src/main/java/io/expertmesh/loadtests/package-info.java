/**
 * Load tests for SSE and WebSocket streaming; they talk HTTP only and depend on no server module. Here:
 * the dependency-free parts (request generation, chunk validation, the readers of Gatling's
 * {@code simulation.log} and of {@code /metrics}, the warm-up and the summary). The Gatling simulation
 * itself is in {@code src/gatling} and is built with the {@code gatling} Maven profile.
 */
package io.expertmesh.loadtests;
