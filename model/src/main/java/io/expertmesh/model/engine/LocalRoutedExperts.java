package io.expertmesh.model.engine;

import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.kernels.MatMul;
import io.expertmesh.model.weights.MlpWeights;
import io.expertmesh.model.weights.RoutedExpertWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs the routed experts of a step in this process: rows are grouped by expert, the gate and up
 * projections of every active expert run in one parallel pass, then all down projections in a
 * second, and the weighted outputs are added per row in ascending expert id.
 */
public final class LocalRoutedExperts implements RoutedExperts {
    /** Columns of the combined output per task of its parallel sum. */
    private static final int COMBINE_COLUMNS = 256;
    private final RoutedExpertWeights weights;
    private final KernelBackend backend;

    public LocalRoutedExperts(RoutedExpertWeights weights, KernelBackend backend) {
        this.weights = weights;
        this.backend = backend;
    }

    @Override
    public FloatMatrix combine(int layer, FloatMatrix x, Routing routing) {
        return combine(layer, x, routing, null);
    }

    /**
     * {@link #combine(int, FloatMatrix, Routing)} plus, when {@code shared} is not null, the shared
     * expert's SwiGLU of every row added after the routed sum. The shared expert's products join the
     * routed experts' passes, so a decode step waits on two parallel passes per MoE layer instead of four.
     */
    public FloatMatrix combine(int layer, FloatMatrix x, Routing routing, MlpWeights shared) {
        ExpertGroups groups = ExpertGroups.of(routing, weights.numExperts());
        int active = groups.activeExperts().length;
        int mlps = shared == null ? active : active + 1;
        FloatMatrix[] inputs = new FloatMatrix[mlps];
        FloatMatrix[] gates = new FloatMatrix[mlps];
        FloatMatrix[] ups = new FloatMatrix[mlps];
        FloatMatrix[] outputs = new FloatMatrix[mlps];
        MlpWeights[] used = new MlpWeights[mlps];
        for (int i = 0; i < mlps; i++) used[i] = i < active ? weights.expert(layer, groups.activeExperts()[i]) : shared;
        // Gathering rows, zeroing buffers and the SwiGLUs took about a tenth of a prefill's MoE time on this thread alone
        // (timers in a throwaway build): they run on every thread.
        backend.parallelFor(mlps, i -> {
            inputs[i] = i < active ? gather(x, groups.rows(groups.activeExperts()[i])) : x;
            gates[i] = FloatMatrix.zeros(inputs[i].rows(), used[i].intermediateSize());
            ups[i] = FloatMatrix.zeros(inputs[i].rows(), used[i].intermediateSize());
            outputs[i] = FloatMatrix.zeros(inputs[i].rows(), x.cols());
        });
        List<MatMul> gateUp = new ArrayList<>(2 * mlps);
        for (int i = 0; i < mlps; i++) {
            gateUp.add(new MatMul(inputs[i], used[i].gate(), gates[i]));
            gateUp.add(new MatMul(inputs[i], used[i].up(), ups[i]));
        }
        backend.matmul(gateUp);
        backend.swiglu(Arrays.asList(gates), Arrays.asList(ups));
        List<MatMul> down = new ArrayList<>(mlps);
        for (int i = 0; i < mlps; i++) down.add(new MatMul(gates[i], used[i].down(), outputs[i]));
        backend.matmul(down);
        FloatMatrix result = FloatMatrix.zeros(x.rows(), x.cols());
        // Each task adds every expert's share to its own columns, experts in ascending id: every row gets the serial sums.
        int columnTasks = Math.max(1, x.cols() / COMBINE_COLUMNS);
        backend.parallelFor(columnTasks, t -> {
            int c0 = t * x.cols() / columnTasks, c1 = (t + 1) * x.cols() / columnTasks;
            for (int i = 0; i < active; i++) groups.addWeighted(groups.activeExperts()[i], outputs[i], result, c0, c1);
            if (shared != null) {
                float[] d = result.data(), o = outputs[active].data();
                for (int r = 0; r < x.rows(); r++) {
                    for (int c = r * x.cols() + c0; c < r * x.cols() + c1; c++) d[c] += o[c];
                }
            }
        });
        return result;
    }

    private static FloatMatrix gather(FloatMatrix x, int[] rows) {
        FloatMatrix g = FloatMatrix.zeros(rows.length, x.cols());
        for (int i = 0; i < rows.length; i++) g.copyRowFrom(i, x, rows[i]);
        return g;
    }
}
