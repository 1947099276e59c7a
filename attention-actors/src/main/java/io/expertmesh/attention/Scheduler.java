package io.expertmesh.attention;

import io.expertmesh.kvstore.KvBlockPool;
import io.expertmesh.model.generate.FinishReason;
import io.expertmesh.model.generate.OutputText;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.sampling.TokenLogprobs;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Continuous batching on an attention node. Each step's batch is every running sequence that is
 * decoding (one token each), then prefill chunks of sequences still reading their prompt, then newly
 * admitted requests, within a token budget; so a new request joins at the next step and a long
 * prompt is read in chunks while other streams keep receiving tokens.
 *
 * <p>A step runs on the engine executor and its result is piped back; meanwhile the actor keeps
 * taking submissions and cancellations. KV blocks are reserved before a step: when they run out,
 * new requests wait, and a running sequence that needs a block preempts the youngest running
 * sequence, which returns to the head of the queue and is later recomputed from its tokens
 * (prefix-cached blocks make that cheap). Blocks are freed on finish, cancel and failure.
 *
 * <p>A request for several choices is a {@link SequenceGroup}: choice 0 reads the prompt, then the
 * other choices join and attach its prompt blocks from the prefix cache. Each choice samples with its
 * own seed; the request ends when every choice has, or with the first failure.
 */
public final class Scheduler extends AbstractBehavior<Scheduler.Command> {
    /** The one-thread dispatcher (this module's reference.conf) whose executor runs the steps. */
    public static final String ENGINE_DISPATCHER = "expertmesh-engine-dispatcher";

    public sealed interface Command extends NoSerializationVerificationNeeded {}

    /**
     * A request: prompt ids, sampling and limits, and how many choices to generate from the prompt;
     * events go to {@code replyTo}, each naming {@code requestId}. With {@code promptLogprobs}, the
     * prompt's log probabilities (with {@code params.logprobs()} alternatives each, which must not be
     * {@link SamplingParams#NO_LOGPROBS}) come first in a {@link SequenceEvent.PromptLogprobs}. They
     * cost an LM-head row per prompt token (at most a step's token budget of rows per step), and the
     * prompt is computed in full: cached prefix blocks are not reused for it.
     */
    public record Submit(String requestId, int[] prompt, SamplingParams params, int choices, ActorRef<SequenceEvent> replyTo,
                         boolean promptLogprobs) implements Command {
        public Submit(String requestId, int[] prompt, SamplingParams params, int choices, ActorRef<SequenceEvent> replyTo) {
            this(requestId, prompt, params, choices, replyTo, false);
        }
    }

    /** Stops a request (client gone), all its choices; its blocks are freed within one step. Unknown ids are ignored. */
    public record Cancel(String requestId) implements Command {}

    /** Stops admitting; replies when every accepted request has ended, ending the rest with an error after {@code timeout}. */
    public record Drain(Duration timeout, ActorRef<Done> replyTo) implements Command {}

    private record StepFinished(List<StepChunk> chunks, EngineStep.Result result, Throwable failure) implements Command {}

    private enum DrainTimedOut implements Command { INSTANCE }

    private final SchedulerSettings settings;
    private final EngineStep engine;
    private final Executor compute;
    private final KvBlockPool pool;
    private final Tokenizer tokenizer;
    private final ServingMetrics metrics;
    private final TimerScheduler<Command> timers;
    private final Deque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final Map<String, SequenceGroup> byId = new HashMap<>();
    private final Set<Sequence> inStep = new HashSet<>();
    private final List<ActorRef<Done>> drainWaiters = new ArrayList<>();
    private boolean draining;

    public static Behavior<Command> create(SchedulerSettings settings, EngineStep engine, Executor compute, KvBlockPool pool,
                                           Tokenizer tokenizer, ServingMetrics metrics) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
                new Scheduler(ctx, timers, settings, engine, compute, pool, tokenizer, metrics)));
    }

    private Scheduler(ActorContext<Command> ctx, TimerScheduler<Command> timers, SchedulerSettings settings, EngineStep engine,
                      Executor compute, KvBlockPool pool, Tokenizer tokenizer, ServingMetrics metrics) {
        super(ctx);
        this.timers = timers;
        this.settings = settings;
        this.engine = engine;
        this.compute = compute;
        this.pool = pool;
        this.tokenizer = tokenizer;
        this.metrics = metrics;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Submit.class, this::onSubmit)
                .onMessage(Cancel.class, this::onCancel)
                .onMessage(StepFinished.class, this::onStepFinished)
                .onMessage(Drain.class, this::onDrain)
                .onMessage(DrainTimedOut.class, t -> onDrainTimedOut())
                .build();
    }

    private Behavior<Command> onSubmit(Submit submit) {
        String id = submit.requestId();
        int total = submit.prompt().length + submit.params().maxNewTokens();
        String invalid = submit.prompt().length == 0 ? "the prompt is empty"
                : submit.choices() < 1 ? "choices must be at least 1"
                : submit.params().maxNewTokens() < 1 ? "max_tokens must be at least 1"
                : submit.promptLogprobs() && !submit.params().wantsLogprobs() ? "prompt log probabilities need a logprobs count"
                : byId.containsKey(id) ? "request id " + id + " is already in use"
                : total > settings.maxContext() ? "prompt (" + submit.prompt().length + " tokens) + max_tokens ("
                        + submit.params().maxNewTokens() + ") exceeds the context of " + settings.maxContext() + " tokens"
                : blocksFor(total) > pool.totalBlocks() ? "prompt + max_tokens need " + blocksFor(total) + " KV blocks but the cache holds "
                        + pool.totalBlocks() : null;
        if (invalid != null) {
            submit.replyTo().tell(new SequenceEvent.Rejected(id, SequenceEvent.Reason.TOO_LARGE, invalid));
        } else if (draining) {
            submit.replyTo().tell(new SequenceEvent.Rejected(id, SequenceEvent.Reason.DRAINING, "the server is shutting down"));
        } else if (waiting.size() >= settings.maxWaiting()) {
            submit.replyTo().tell(new SequenceEvent.Rejected(id, SequenceEvent.Reason.QUEUE_FULL,
                    "the server is at capacity (" + waiting.size() + " requests waiting); retry later"));
        } else {
            long now = System.nanoTime();
            SequenceGroup group = new SequenceGroup(id, submit.prompt().length, submit.replyTo(), now);
            for (int i = 0; i < submit.choices(); i++) {
                SamplingParams params = submit.params().forChoice(i);
                Sequence s = new Sequence(group, i, submit.prompt(), params, pool.newTable(),
                        new OutputText(tokenizer, params.stopStrings()), now);
                group.choices.add(s);
                if (i > 0) group.held.addLast(s);
                else if (submit.promptLogprobs()) s.promptLogprobs = new TokenLogprobs[submit.prompt().length - 1];
            }
            group.unfinished = submit.choices();
            byId.put(id, group);
            waiting.addLast(group.choices.getFirst());
            submit.replyTo().tell(new SequenceEvent.Queued(id));
            updateGauges();
            startStepIfIdle();
        }
        return this;
    }

    private int blocksFor(int tokens) {
        return (tokens + pool.blockSize() - 1) / pool.blockSize();
    }

    private Behavior<Command> onCancel(Cancel cancel) {
        SequenceGroup group = byId.get(cancel.requestId());
        if (group == null) return this;
        getContext().getLog().debug("request {} cancelled after {} tokens", group.id,
                group.choices.stream().mapToInt(Sequence::generated).sum());
        end(group);
        return this;
    }

    /**
     * Ends every choice of {@code group}: each is dropped now, or when the step that holds it
     * returns. Its client is told nothing here.
     */
    private void end(SequenceGroup group) {
        group.ended = true;
        byId.remove(group.id);
        for (Sequence s : group.choices) {
            s.cancelled = true;
            if (!inStep.contains(s)) remove(s);
        }
        group.held.clear();
    }

    private void startStepIfIdle() {
        if (!inStep.isEmpty()) return;
        List<StepChunk> plan = plan();
        if (plan.isEmpty()) {
            checkDrained();
            return;
        }
        for (StepChunk c : plan) inStep.add(c.sequence());
        updateGauges();
        CompletableFuture<EngineStep.Result> step = CompletableFuture.supplyAsync(() -> engine.run(plan), compute);
        getContext().pipeToSelf(step, (result, failure) -> new StepFinished(plan, result, failure));
    }

    /** Chooses the next step's chunks and reserves their KV blocks. */
    private List<StepChunk> plan() {
        int budget = settings.maxBatchTokens();
        List<StepChunk> plan = new ArrayList<>();
        Set<Sequence> planned = new HashSet<>();
        for (Sequence s : List.copyOf(running)) {
            if (budget == 0) break;
            if (!running.contains(s) || s.pending() != 1) continue;
            if (reserveOrPreempt(s, s.computed + 1, planned)) {
                plan.add(chunk(s, 1));
                planned.add(s);
                budget--;
            }
        }
        for (Sequence s : List.copyOf(running)) {
            if (budget == 0) break;
            if (!running.contains(s) || s.pending() <= 1) continue;
            int n = Math.min(s.pending(), budget);
            if (reserveOrPreempt(s, s.computed + n, planned)) {
                plan.add(chunk(s, n));
                planned.add(s);
                budget -= n;
            }
        }
        while (budget > 0 && !waiting.isEmpty() && running.size() < settings.maxRunning()) {
            Sequence s = waiting.peekFirst();
            // Cached rows are not computed, so they would have no logits: prompt log probabilities read the whole prompt.
            int cached = s.promptLogprobs != null ? 0 : s.table.attachCachedPrefix(Arrays.copyOf(s.tokens(), s.length()));
            int n = Math.min(s.length() - cached, budget);
            if (!s.table.reserve(cached + n)) {
                s.table.release();
                break;
            }
            waiting.pollFirst();
            running.add(s);
            s.computed = cached;
            if (s.admittedNanos == 0) {
                s.admittedNanos = System.nanoTime();
                if (s.choice == 0) {
                    ServingMetrics.record(metrics.queueTime, s.admittedNanos - s.arrivalNanos);
                    metrics.promptTokens.increment(s.promptLength);
                }
            }
            plan.add(chunk(s, n));
            planned.add(s);
            budget -= n;
        }
        return plan;
    }

    private static StepChunk chunk(Sequence s, int n) {
        int[] promptNext = new int[0];
        if (s.promptLogprobs != null) {
            // Each prompt position but the last predicts the prompt token after it.
            int end = Math.min(s.computed + n, s.promptLength - 1);
            promptNext = Arrays.copyOfRange(s.tokens(), s.computed + 1, Math.max(s.computed + 1, end + 1));
        }
        return new StepChunk(s, s.computed, s.tokens(s.computed, n), s.computed + n == s.length(), promptNext);
    }

    /**
     * Reserves blocks for {@code s} up to {@code tokens}, preempting the youngest running sequences
     * not yet in this step. Returns false when {@code s} itself had to be preempted.
     */
    private boolean reserveOrPreempt(Sequence s, int tokens, Set<Sequence> planned) {
        while (!s.table.reserve(tokens)) {
            Sequence victim = null;
            for (int i = running.size() - 1; i >= 0; i--) {
                Sequence candidate = running.get(i);
                if (!planned.contains(candidate)) {
                    victim = candidate;
                    break;
                }
            }
            if (victim == null) victim = s;
            preempt(victim);
            if (victim == s) return false;
        }
        return true;
    }

    private void preempt(Sequence s) {
        s.table.release();
        s.computed = 0;
        s.preemptions++;
        metrics.preemptions.increment();
        running.remove(s);
        waiting.addFirst(s);
        getContext().getLog().info("KV cache full: request {} preempted after {} tokens; it will be recomputed", s.id, s.generated());
    }

    private Behavior<Command> onStepFinished(StepFinished done) {
        inStep.clear();
        if (done.failure() != null) {
            getContext().getLog().error("step of {} chunk(s) failed; ending its requests", done.chunks().size(), done.failure());
            for (StepChunk c : done.chunks()) {
                Sequence s = c.sequence();
                remove(s);
                if (!s.group.ended) {
                    end(s.group);
                    s.replyTo.tell(new SequenceEvent.Failed(s.id, "inference failed: " + rootMessage(done.failure())));
                }
            }
        } else {
            for (int i = 0; i < done.chunks().size(); i++) {
                StepChunk c = done.chunks().get(i);
                Sequence s = c.sequence();
                s.computed = c.start() + c.tokens().length;
                if (s.cancelled) {
                    remove(s);
                    continue;
                }
                String failure = done.result().failures()[i];
                if (failure != null) {
                    fail(s, failure, null);
                    continue;
                }
                try {
                    s.table.publishFullBlocks(s.tokens(), s.computed);
                    if (s.promptLogprobs != null) collectPromptLogprobs(s, c, done.result().promptLogprobs().get(i));
                    if (c.sample() && s.choice == 0) releaseHeldChoices(s.group);
                    if (c.sample()) onToken(s, done.result().tokens()[i], done.result().logprobs()[i]);
                } catch (RuntimeException e) {
                    fail(s, "inference failed: " + rootMessage(e), e);
                }
            }
        }
        updateGauges();
        startStepIfIdle();
        return this;
    }

    /** Keeps a chunk's prompt log probabilities; once the prompt is read, sends them all. */
    private void collectPromptLogprobs(Sequence s, StepChunk c, List<TokenLogprobs> chunkLogprobs) {
        for (int k = 0; k < chunkLogprobs.size(); k++) s.promptLogprobs[c.start() + k] = chunkLogprobs.get(k);
        if (!c.sample()) return;
        s.replyTo.tell(new SequenceEvent.PromptLogprobs(s.id, s.tokens()[0], Arrays.asList(s.promptLogprobs)));
        s.promptLogprobs = null;
    }

    /**
     * Choice 0 has read the prompt and its full blocks are published: the other choices queue at the
     * head, to attach those blocks at the next step.
     */
    private void releaseHeldChoices(SequenceGroup group) {
        while (!group.held.isEmpty()) waiting.addFirst(group.held.pollLast());
    }

    private void onToken(Sequence s, int token, TokenLogprobs logprobs) {
        long now = System.nanoTime();
        s.append(token);
        if (logprobs != null) s.unsentLogprobs.add(logprobs);
        metrics.generationTokens.increment();
        // A later choice's first token waited for choice 0's prompt: only choice 0's counts as the request's first.
        if (s.generated() > 1) {
            ServingMetrics.record(metrics.interTokenLatency, now - s.lastTokenNanos);
        } else if (s.choice == 0) {
            ServingMetrics.record(metrics.timeToFirstToken, now - s.arrivalNanos);
        }
        s.lastTokenNanos = now;
        if (s.params.stopTokenIds().contains(token)) {
            finish(s, FinishReason.STOP);
            return;
        }
        String text = s.output.push(token);
        if (!text.isEmpty()) s.replyTo.tell(new SequenceEvent.TextDelta(s.id, s.choice, text, s.takeUnsentLogprobs()));
        if (s.output.stopped() || s.sampler.guideComplete()) {
            finish(s, FinishReason.STOP);
        } else if (s.generated() >= s.params.maxNewTokens() || s.length() >= settings.maxContext()) {
            finish(s, FinishReason.LENGTH);
        }
    }

    /** Ends one request, all its choices, with an error event; the rest of its step and the running batch go on. */
    private void fail(Sequence s, String reason, Throwable cause) {
        if (cause != null) {
            getContext().getLog().error("request {} failed: {}", s.id, reason, cause);
        } else {
            getContext().getLog().warn("request {} failed: {}", s.id, reason);
        }
        end(s.group);
        s.replyTo.tell(new SequenceEvent.Failed(s.id, reason));
    }

    private void finish(Sequence s, FinishReason reason) {
        String rest = s.output.finish();
        if (!rest.isEmpty() || !s.unsentLogprobs.isEmpty()) {
            s.replyTo.tell(new SequenceEvent.TextDelta(s.id, s.choice, rest, s.takeUnsentLogprobs()));
        }
        remove(s);
        SequenceGroup group = s.group;
        group.unfinished--;
        group.completionTokens += s.generated();
        s.replyTo.tell(new SequenceEvent.ChoiceFinished(s.id, s.choice, reason, s.generated()));
        if (group.unfinished == 0) {
            ServingMetrics.record(metrics.endToEnd, System.nanoTime() - group.arrivalNanos);
            group.ended = true;
            byId.remove(group.id);
            s.replyTo.tell(new SequenceEvent.Finished(s.id, group.promptLength, group.completionTokens));
        }
    }

    /** Frees a sequence's blocks; callers tell its client afterwards, so a finished client sees them free. */
    private void remove(Sequence s) {
        s.table.release();
        running.remove(s);
        waiting.remove(s);
        updateGauges();
    }

    private Behavior<Command> onDrain(Drain drain) {
        if (!draining) {
            draining = true;
            getContext().getLog().info("draining: {} running, {} waiting; no new requests are admitted", running.size(), waiting.size());
            timers.startSingleTimer(DrainTimedOut.INSTANCE, drain.timeout());
        }
        drainWaiters.add(drain.replyTo());
        checkDrained();
        return this;
    }

    private Behavior<Command> onDrainTimedOut() {
        if (byId.isEmpty()) return this;
        getContext().getLog().warn("drain timed out: ending {} request(s) with an error", byId.size());
        for (SequenceGroup group : List.copyOf(byId.values())) {
            group.replyTo.tell(new SequenceEvent.Failed(group.id, "the server is shutting down"));
            end(group);
        }
        checkDrained();
        return this;
    }

    private void checkDrained() {
        if (!draining || !running.isEmpty() || !waiting.isEmpty() || !inStep.isEmpty()) return;
        timers.cancel(DrainTimedOut.INSTANCE);
        for (ActorRef<Done> w : drainWaiters) w.tell(Done.getInstance());
        drainWaiters.clear();
    }

    private void updateGauges() {
        metrics.running.set(running.size());
        metrics.waiting.set(waiting.size());
    }

    private static String rootMessage(Throwable t) {
        Throwable cause = t;
        while (cause.getCause() != null) cause = cause.getCause();
        return cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    }
}
