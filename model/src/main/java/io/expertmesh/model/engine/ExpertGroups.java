package io.expertmesh.model.engine;

import io.expertmesh.model.kernels.FloatMatrix;
import java.util.stream.IntStream;

/**
 * A step's rows grouped by routed expert: for each active expert (ascending id) the rows routed to
 * it and their router weights. Both the local expert runner and a remote dispatch build on it.
 */
public final class ExpertGroups {
    private final int[] activeExperts;
    private final int[][] rows;
    private final float[][] weights;

    private ExpertGroups(int[] activeExperts, int[][] rows, float[][] weights) {
        this.activeExperts = activeExperts;
        this.rows = rows;
        this.weights = weights;
    }

    /** Groups the routing's choices; an expert id below 0 marks a choice served elsewhere and is skipped. */
    public static ExpertGroups of(Routing routing, int numExperts) {
        int[] counts = new int[numExperts];
        for (int e : routing.experts()) if (e >= 0) counts[e]++;
        int[][] rows = new int[numExperts][];
        float[][] weights = new float[numExperts][];
        for (int e = 0; e < numExperts; e++) {
            rows[e] = new int[counts[e]];
            weights[e] = new float[counts[e]];
        }
        int[] fill = new int[numExperts];
        for (int r = 0; r < routing.rows(); r++) {
            for (int j = 0; j < routing.k(); j++) {
                int e = routing.expert(r, j);
                if (e < 0) continue;
                rows[e][fill[e]] = r;
                weights[e][fill[e]++] = routing.weight(r, j);
            }
        }
        int[] active = IntStream.range(0, numExperts).filter(e -> counts[e] > 0).toArray();
        return new ExpertGroups(active, rows, weights);
    }

    /** Ids of experts with at least one row, ascending. */
    public int[] activeExperts() {
        return activeExperts;
    }

    public int[] rows(int expert) {
        return rows[expert];
    }

    public float[] weights(int expert) {
        return weights[expert];
    }

    /**
     * {@code result[rows[i]][c] += w_i · out[i][c]} for the expert's rows and columns [c0, c1)
     * (multiply, then add, as transformers does).
     */
    public void addWeighted(int expert, FloatMatrix out, FloatMatrix result, int c0, int c1) {
        int cols = result.cols();
        float[] o = out.data();
        float[] d = result.data();
        int[] rs = rows[expert];
        float[] ws = weights[expert];
        for (int i = 0; i < rs.length; i++) {
            int src = i * cols;
            int dst = rs[i] * cols;
            float w = ws[i];
            for (int c = c0; c < c1; c++) d[dst + c] += o[src + c] * w;
        }
    }
}
