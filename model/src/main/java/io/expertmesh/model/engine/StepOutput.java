package io.expertmesh.model.engine;

import io.expertmesh.model.kernels.FloatMatrix;

/**
 * What a {@link ModelStep} gives back: the logits of the asked rows (one row each, in the order
 * asked; null when none were asked) and the experts the router chose, every MoE layer's
 * {@code rows × k} ids one layer after the other (for the per-expert token counts).
 */
public record StepOutput(FloatMatrix logits, int[] chosenExperts) {}
