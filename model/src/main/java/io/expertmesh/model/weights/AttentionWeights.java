package io.expertmesh.model.weights;

/** Query, key, value and output projections of one attention layer. */
public record AttentionWeights(Linear q, Linear k, Linear v, Linear o) {
    public long byteSize() {
        return q.byteSize() + k.byteSize() + v.byteSize() + o.byteSize();
    }
}
