package io.expertmesh.model.kernels;

import io.expertmesh.model.weights.Linear;

/** One product {@code out = x · weightᵀ + bias} over all rows of {@code x}. */
public record MatMul(FloatMatrix x, Linear linear, FloatMatrix out) {
    public MatMul {
        if (x.cols() != linear.inFeatures() || out.cols() != linear.outFeatures() || out.rows() < x.rows()) {
            throw new IllegalArgumentException(linear.weight().name() + ": cannot multiply [" + x.rows() + ", " + x.cols()
                    + "] by [" + linear.outFeatures() + ", " + linear.inFeatures() + "]ᵀ into [" + out.rows() + ", " + out.cols() + "]");
        }
    }
}
