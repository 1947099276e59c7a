/**
 * Paged KV cache: a {@link io.expertmesh.kvstore.KvBlockPool} of fixed-size blocks bounded by a byte
 * budget, reference-counted and shared by a node's sequences, with a prefix cache of full blocks
 * keyed by a chained hash of their tokens; and a {@link io.expertmesh.kvstore.KvBlockTable} per
 * sequence, through which attention reads keys and values.
 */
package io.expertmesh.kvstore;
