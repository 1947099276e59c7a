/**
 * The OpenAI-compatible API surface without any HTTP: parsing and validating request bodies into
 * records ({@link io.expertmesh.gateway.api.RequestParser}), building response bodies and stream
 * chunks ({@link io.expertmesh.gateway.api.ResponseFormatter}) and the error body
 * ({@link io.expertmesh.gateway.api.ApiException}). The routes call these; nothing here knows Pekko.
 */
package io.expertmesh.gateway.api;
