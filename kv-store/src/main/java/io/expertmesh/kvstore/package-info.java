/**
 * Paged KV cache (not built yet): fixed-size blocks, a block table per sequence, an allocator
 * bounded by a byte budget, a prefix cache of content-hashed full blocks, and preemption when blocks
 * run out. Attention reads keys and values through block tables.
 */
package io.expertmesh.kvstore;
