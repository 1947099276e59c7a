package io.expertmesh.model.engine;

import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.kernels.MatMul;
import io.expertmesh.model.weights.MlpWeights;
import io.expertmesh.model.weights.RoutedExpertWeights;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs the routed experts of a step in this process: rows are grouped by expert, the gate and up
 * projections of every active expert run in one parallel pass, then all down projections in a
 * second, and the weighted outputs are added per row in ascending expert id.
 */
public final class LocalRoutedExperts implements RoutedExperts {
    private final RoutedExpertWeights weights;
    private final KernelBackend backend;

    public LocalRoutedExperts(RoutedExpertWeights weights, KernelBackend backend) {
        this.weights = weights;
        this.backend = backend;
    }

    @Override
    public FloatMatrix combine(int layer, FloatMatrix x, Routing routing) {
        ExpertGroups groups = ExpertGroups.of(routing, weights.numExperts());
        int active = groups.activeExperts().length;
        FloatMatrix[] inputs = new FloatMatrix[active];
        FloatMatrix[] gates = new FloatMatrix[active];
        FloatMatrix[] ups = new FloatMatrix[active];
        FloatMatrix[] outputs = new FloatMatrix[active];
        List<MatMul> gateUp = new ArrayList<>(2 * active);
        for (int i = 0; i < active; i++) {
            int e = groups.activeExperts()[i];
            MlpWeights w = weights.expert(layer, e);
            int[] rows = groups.rows(e);
            inputs[i] = gather(x, rows);
            gates[i] = FloatMatrix.zeros(rows.length, w.intermediateSize());
            ups[i] = FloatMatrix.zeros(rows.length, w.intermediateSize());
            gateUp.add(new MatMul(inputs[i], w.gate(), gates[i]));
            gateUp.add(new MatMul(inputs[i], w.up(), ups[i]));
        }
        backend.matmul(gateUp);
        List<MatMul> down = new ArrayList<>(active);
        for (int i = 0; i < active; i++) {
            backend.swiglu(gates[i], ups[i]);
            MlpWeights w = weights.expert(layer, groups.activeExperts()[i]);
            outputs[i] = FloatMatrix.zeros(gates[i].rows(), x.cols());
            down.add(new MatMul(gates[i], w.down(), outputs[i]));
        }
        backend.matmul(down);
        FloatMatrix result = FloatMatrix.zeros(x.rows(), x.cols());
        for (int i = 0; i < active; i++) {
            int e = groups.activeExperts()[i];
            groups.addWeighted(e, outputs[i], result);
        }
        return result;
    }

    private static FloatMatrix gather(FloatMatrix x, int[] rows) {
        FloatMatrix g = FloatMatrix.zeros(rows.length, x.cols());
        for (int i = 0; i < rows.length; i++) g.copyRowFrom(i, x, rows[i]);
        return g;
    }
}
