/**
 * Gatling load tests (not built yet) for SSE and WebSocket streaming; they talk HTTP only.
 */
package io.expertmesh.loadtests;
