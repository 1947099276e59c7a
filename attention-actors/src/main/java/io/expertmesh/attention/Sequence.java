package io.expertmesh.attention;

import io.expertmesh.kvstore.KvBlockTable;
import io.expertmesh.model.generate.OutputText;
import io.expertmesh.model.sampling.Sampler;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.sampling.TokenHistory;
import io.expertmesh.model.sampling.TokenLogprobs;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * One choice of a request in the scheduler: its tokens (prompt, then generated), how many of them
 * have keys and values in its KV blocks, its sampler, its output text and the log probabilities not
 * yet sent. The scheduler owns it; while a step that includes it runs, only that step touches the
 * sampler and the history.
 */
final class Sequence {
    final String id;
    final SequenceGroup group;
    final int choice;
    final int promptLength;
    final SamplingParams params;
    final ActorRef<SequenceEvent> replyTo;
    final KvBlockTable table;
    final Sampler sampler;
    final TokenHistory history;
    final OutputText output;
    final long arrivalNanos;
    /** Log probabilities of tokens whose text has not gone out yet. */
    final List<TokenLogprobs> unsentLogprobs = new ArrayList<>();
    /**
     * Choice 0 of a request for prompt log probabilities, until they are sent: entry {@code p} is
     * prompt token {@code p + 1}'s. Null otherwise.
     */
    TokenLogprobs[] promptLogprobs;
    private int[] tokens;
    private int length;
    /** Positions [0, computed) have keys and values in {@link #table}. */
    int computed;
    long admittedNanos;
    long lastTokenNanos;
    /** Ended (cancelled, or its request ended): dropped once no step holds it. */
    boolean cancelled;
    int preemptions;

    Sequence(SequenceGroup group, int choice, int[] prompt, SamplingParams params, KvBlockTable table, OutputText output,
             long arrivalNanos) {
        this.id = group.id;
        this.group = group;
        this.choice = choice;
        this.promptLength = prompt.length;
        this.params = params;
        this.replyTo = group.replyTo;
        this.table = table;
        this.sampler = new Sampler(params);
        this.history = new TokenHistory(prompt);
        this.output = output;
        this.arrivalNanos = arrivalNanos;
        this.tokens = Arrays.copyOf(prompt, prompt.length + Math.min(params.maxNewTokens(), 256));
        this.length = prompt.length;
    }

    /** The log probabilities not yet sent, handed over with the text they go with. */
    List<TokenLogprobs> takeUnsentLogprobs() {
        if (unsentLogprobs.isEmpty()) return List.of();
        List<TokenLogprobs> taken = List.copyOf(unsentLogprobs);
        unsentLogprobs.clear();
        return taken;
    }

    int length() {
        return length;
    }

    int generated() {
        return length - promptLength;
    }

    /** Tokens; only [0, length()) are meaningful. */
    int[] tokens() {
        return tokens;
    }

    int[] tokens(int from, int count) {
        return Arrays.copyOfRange(tokens, from, from + count);
    }

    void append(int token) {
        if (length == tokens.length) tokens = Arrays.copyOf(tokens, tokens.length * 2);
        tokens[length++] = token;
    }

    /** Positions still to compute before the next token can be sampled. */
    int pending() {
        return length - computed;
    }
}
