/**
 * Guided (structured) output: constraining generation to a JSON schema, any JSON object, a regex or
 * a list of choices, by masking the tokens that would break it before each token is sampled.
 *
 * <p>Entry point: {@link io.expertmesh.model.guided.Guide#compile} turns a
 * {@link io.expertmesh.model.guided.GuideSpec} into a byte-level DFA (or a
 * {@link io.expertmesh.model.guided.GuideException} naming what is unsupported or too large);
 * {@link io.expertmesh.model.guided.Guide#over} binds it to a
 * {@link io.expertmesh.model.guided.TokenVocabulary} (one per tokenizer) as a
 * {@link io.expertmesh.model.guided.TokenConstraint}; each sequence takes its own
 * {@link io.expertmesh.model.guided.TokenConstraint.State} from {@code start()}, reads the allowed
 * tokens before sampling and {@code advance}s past the sampled one. The
 * {@link io.expertmesh.model.sampling.Sampler} does this when its
 * {@link io.expertmesh.model.sampling.SamplingParams#guide()} is set. A forced tool call is
 * {@link io.expertmesh.model.guided.GuideSpec.Framed}: a literal opening, the arguments' schema and
 * a literal closing; a choice among several tools is a {@link io.expertmesh.model.guided.GuideSpec.OneOf}.
 */
package io.expertmesh.model.guided;
