/**
 * Pekko HTTP front end (not built yet): the OpenAI-compatible REST API, SSE and WebSocket
 * streaming, tokenize/detokenize, health, metrics and the playground page, with request validation
 * and limits.
 */
package io.expertmesh.gateway;
