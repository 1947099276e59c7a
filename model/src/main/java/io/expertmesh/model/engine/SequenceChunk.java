package io.expertmesh.model.engine;

/**
 * Tokens of one sequence processed in a step: positions [start, start + tokens.length). A prefill
 * chunk has many tokens; a decode step has one. The cache must already hold positions [0, start).
 */
public record SequenceChunk(KvCache cache, int start, int[] tokens) {
    public SequenceChunk {
        if (start < 0) throw new IllegalArgumentException("start position must not be negative");
        if (tokens.length == 0) throw new IllegalArgumentException("a chunk needs at least one token");
    }

    public int end() {
        return start + tokens.length;
    }
}
