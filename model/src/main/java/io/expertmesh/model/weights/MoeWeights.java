package io.expertmesh.model.weights;

/**
 * The attention-side part of one MoE layer: the fp32 router [experts × hidden], its selection
 * bias, and the shared-expert MLP (null when the model has none). Routed experts live in
 * {@link RoutedExpertWeights} so that they can be hosted elsewhere.
 */
public record MoeWeights(float[] router, float[] correctionBias, MlpWeights shared) {}
