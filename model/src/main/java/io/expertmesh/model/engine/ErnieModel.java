package io.expertmesh.model.engine;

import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.kernels.MatMul;
import io.expertmesh.model.weights.ErnieWeights;
import io.expertmesh.model.weights.LayerWeights;
import java.util.ArrayList;
import java.util.List;

/**
 * The ERNIE-4.5 MoE forward pass, top to bottom: embeddings; per layer a pre-norm attention block
 * and a pre-norm MLP block (dense SwiGLU on dense layers, router + routed experts + shared expert
 * on MoE layers), each added to the residual stream; final RMSNorm; tied LM head.
 *
 * <p>A step processes a batch of {@link SequenceChunk}s whose tokens are laid out as consecutive
 * rows, so prefill chunks and decode tokens of many sequences share every weight pass. Only
 * attention looks at sequences separately.
 */
public final class ErnieModel implements ModelStep {
    private final ErnieConfig config;
    private final ErnieWeights weights;
    private final MoeFeedForward moe;
    private final KernelBackend backend;
    private final float[] inverseFrequencies;

    public ErnieModel(ErnieWeights weights, MoeFeedForward moe, KernelBackend backend) {
        this.config = weights.config();
        this.weights = weights;
        this.moe = moe;
        this.backend = backend;
        this.inverseFrequencies = RotaryEmbedding.inverseFrequencies(config.headDim(), config.ropeTheta());
    }

    @Override
    public ErnieConfig config() {
        return config;
    }

    @Override
    public StepOutput forward(List<SequenceChunk> chunks, int[] logitRows) {
        int rows = 0;
        for (SequenceChunk c : chunks) rows += c.tokens().length;
        int k = config.expertsPerToken();
        int[] chosen = new int[config.numMoeLayers() * rows * k];
        ForwardTrace routingLog = new ForwardTrace() {
            private int at;

            @Override
            public void routing(int layer, Routing routing) {
                System.arraycopy(routing.experts(), 0, chosen, at, routing.experts().length);
                at += routing.experts().length;
            }
        };
        FloatMatrix hidden = forward(chunks, routingLog);
        return new StepOutput(logitRows.length == 0 ? null : logits(hidden, logitRows), chosen);
    }

    public KernelBackend backend() {
        return backend;
    }

    /** Runs the chunks through every layer and returns the final-normed hidden state of each row. */
    public FloatMatrix forward(List<SequenceChunk> chunks, ForwardTrace trace) {
        int rows = 0;
        for (SequenceChunk c : chunks) rows += c.tokens().length;
        int[] positions = new int[rows];
        List<Attention.Span> spans = new ArrayList<>(chunks.size());
        FloatMatrix x = FloatMatrix.zeros(rows, config.hiddenSize());
        int row = 0;
        for (SequenceChunk c : chunks) {
            if (c.end() > config.maxPositions()) {
                throw new IllegalArgumentException("sequence of " + c.end() + " tokens exceeds max_position_embeddings "
                        + config.maxPositions());
            }
            spans.add(new Attention.Span(row, c.tokens().length, c.cache(), c.start()));
            for (int i = 0; i < c.tokens().length; i++) {
                embed(c.tokens()[i], x, row);
                positions[row++] = c.start() + i;
            }
        }
        trace.hiddenState(0, x);
        RotaryEmbedding rope = RotaryEmbedding.forPositions(positions, inverseFrequencies);
        FloatMatrix h = FloatMatrix.zeros(rows, config.hiddenSize());
        for (int l = 0; l < config.numLayers(); l++) {
            LayerWeights lw = weights.layers().get(l);
            backend.rmsNorm(x, lw.inputNorm(), config.rmsNormEps(), h);
            Mlp.addInPlace(x, attention(l, lw, h, spans, rope));
            backend.rmsNorm(x, lw.postAttentionNorm(), config.rmsNormEps(), h);
            Mlp.addInPlace(x, lw.isMoe() ? moe(l, lw, h, trace) : Mlp.swiglu(backend, h, lw.denseMlp()));
            trace.hiddenState(l + 1, x);
        }
        backend.rmsNorm(x, weights.finalNorm(), config.rmsNormEps(), h);
        trace.finalNorm(h);
        return h;
    }

    /** Logits over the vocabulary for the given rows of {@code hidden}. */
    public FloatMatrix logits(FloatMatrix hidden, int[] rows) {
        for (int r : rows) if (r < 0 || r >= hidden.rows()) throw new IllegalArgumentException("no row " + r + " in this step");
        FloatMatrix selected = FloatMatrix.zeros(rows.length, hidden.cols());
        for (int i = 0; i < rows.length; i++) selected.copyRowFrom(i, hidden, rows[i]);
        FloatMatrix out = FloatMatrix.zeros(rows.length, config.vocabSize());
        backend.matmul(List.of(new MatMul(selected, weights.lmHead(), out)));
        return out;
    }

    private void embed(int token, FloatMatrix x, int row) {
        if (token < 0 || token >= config.vocabSize()) {
            throw new IllegalArgumentException("token id " + token + " is outside the vocabulary [0, " + config.vocabSize() + ")");
        }
        weights.embeddings().readRow(token, x.data(), x.offset(row));
    }

    private FloatMatrix attention(int layer, LayerWeights lw, FloatMatrix h, List<Attention.Span> spans, RotaryEmbedding rope) {
        int rows = h.rows();
        var a = lw.attention();
        FloatMatrix q = FloatMatrix.zeros(rows, config.queryDim());
        FloatMatrix k = FloatMatrix.zeros(rows, config.kvDim());
        FloatMatrix v = FloatMatrix.zeros(rows, config.kvDim());
        backend.matmul(List.of(new MatMul(h, a.q(), q), new MatMul(h, a.k(), k), new MatMul(h, a.v(), v)));
        rope.apply(q, config.numHeads());
        rope.apply(k, config.numKvHeads());
        Attention.store(spans, layer, k, v);
        FloatMatrix context = FloatMatrix.zeros(rows, config.queryDim());
        Attention.compute(backend, spans, layer, q, config.numHeads(), config.numKvHeads(), config.headDim(), context);
        FloatMatrix out = FloatMatrix.zeros(rows, config.hiddenSize());
        backend.matmul(List.of(new MatMul(context, a.o(), out)));
        return out;
    }

    private FloatMatrix moe(int layer, LayerWeights lw, FloatMatrix h, ForwardTrace trace) {
        Routing routing = Router.route(backend, h, lw.moe(), config.expertsPerToken(), config.moeNormMin());
        trace.routing(layer, routing);
        return moe.apply(layer, h, routing);
    }
}
