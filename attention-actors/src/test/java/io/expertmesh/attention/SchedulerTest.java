package io.expertmesh.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.kvstore.KvBlockPool;
import io.expertmesh.kvstore.PooledSequences;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.generate.Generator;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The scheduler on the tiny model: what it admits and refuses, what a token stream looks like, cancellation and drain. */
class SchedulerTest {
    private static final Path MODEL = Path.of(System.getProperty("expertmesh.tinyModel", "../models/tiny-ernie-4.5-moe"));
    private static final int[] PROMPT = {3, 4053, 1449, 17, 900, 2000};
    private static ActorTestKit kit;
    private static LoadedModel model;
    private static Tokenizer tokenizer;
    private static ExecutorService compute;
    private KvBlockPool pool;
    private ActorRef<Scheduler.Command> scheduler;

    @BeforeAll
    static void load() {
        kit = ActorTestKit.create();
        model = LoadedModel.open(MODEL, 2);
        tokenizer = Tokenizer.load(MODEL);
        compute = Executors.newSingleThreadExecutor();
    }

    @AfterAll
    static void close() {
        kit.shutdownTestKit();
        compute.shutdownNow();
        model.close();
    }

    @BeforeEach
    void spawn() {
        // 8 blocks of 16 tokens; a context of 100 tokens; one running sequence and one waiting.
        pool = new KvBlockPool(model.config(), 16, 8 * KvBlockPool.bytesPerBlock(model.config(), 16));
        scheduler = TinySchedulers.spawn(kit, model, tokenizer, compute, pool, 64, 1, 1, 100);
    }

    @AfterEach
    void stopScheduler() {
        kit.stop(scheduler);
    }

    private static SamplingParams greedy(int maxTokens) {
        return SamplingParams.greedy(maxTokens, Set.of());
    }

    @Test
    void aRequestStreamsTheGeneratorsTextThenFinishes() {
        TestProbe<SequenceEvent> events = kit.createTestProbe();
        scheduler.tell(new Scheduler.Submit("r1", PROMPT, greedy(20), 1, events.getRef()));
        assertInstanceOf(SequenceEvent.Queued.class, events.receiveMessage());
        StringBuilder text = new StringBuilder();
        SequenceEvent e;
        while (!((e = events.receiveMessage(Duration.ofSeconds(30))) instanceof SequenceEvent.Finished)) {
            if (e instanceof SequenceEvent.ChoiceFinished) continue;
            text.append(assertInstanceOf(SequenceEvent.TextDelta.class, e).text());
        }
        var finished = (SequenceEvent.Finished) e;
        assertEquals(20, finished.completionTokens());
        assertEquals(PROMPT.length, finished.promptTokens());
        assertEquals(new Generator(PooledSequences.onHeap(model.model()), tokenizer).generate(PROMPT, greedy(20), t -> {}).text(), text.toString());
        assertEquals(0, pool.usedBlocks());
    }

    @Test
    void promptLogprobsReadInChunksAreTheRawLogSoftmaxOfEachPrefixAndComeFirst() {
        // 4 tokens a step: the 6-token prompt is read in two chunks.
        ActorRef<Scheduler.Command> chunked = TinySchedulers.spawn(kit, model, tokenizer, compute, pool, 4, 2, 2, 100);
        // A penalty and a bias that the prompt's log probabilities must not see.
        SamplingParams params = new SamplingParams(0, 0, 1, 0, 2f, 0, 0, null, 3, 0, Set.of(), List.of(), Map.of(PROMPT[3], -50f), 3);
        TestProbe<SequenceEvent> events = kit.createTestProbe();
        chunked.tell(new Scheduler.Submit("p", PROMPT, params, 2, events.getRef(), true));
        events.expectMessageClass(SequenceEvent.Queued.class);
        var prompt = assertInstanceOf(SequenceEvent.PromptLogprobs.class, events.receiveMessage(Duration.ofSeconds(30)));
        assertEquals(PROMPT[0], prompt.firstToken());
        assertEquals(PROMPT.length - 1, prompt.logprobs().size());
        try (var reference = PooledSequences.onHeap(model.model()).newSequence()) {
            for (int p = 1; p < PROMPT.length; p++) {
                float[] logits = reference.append(new int[] {PROMPT[p - 1]});
                double max = Double.NEGATIVE_INFINITY;
                int best = 0;
                for (int id = 0; id < logits.length; id++) if (logits[id] > max) max = logits[best = id];
                double sum = 0;
                for (float l : logits) sum += Math.exp(l - max);
                var entry = prompt.logprobs().get(p - 1);
                assertEquals(PROMPT[p], entry.token());
                assertEquals(logits[PROMPT[p]] - max - Math.log(sum), entry.logprob(), 1e-4, "prompt token " + p);
                assertEquals(3, entry.topTokens().length);
                assertEquals(best, entry.topTokens()[0]);
            }
        }
        SequenceEvent e;
        while (!((e = events.receiveMessage(Duration.ofSeconds(30))) instanceof SequenceEvent.Finished)) {
            assertTrue(e instanceof SequenceEvent.TextDelta || e instanceof SequenceEvent.ChoiceFinished, "only one PromptLogprobs: " + e);
        }
        kit.stop(chunked);
    }

    @Test
    void requestsThatCanNeverFitAreRefusedAtOnce() {
        TestProbe<SequenceEvent> events = kit.createTestProbe();
        scheduler.tell(new Scheduler.Submit("long", PROMPT, greedy(95), 1, events.getRef()));
        var context = assertInstanceOf(SequenceEvent.Rejected.class, events.receiveMessage());
        assertEquals(SequenceEvent.Reason.TOO_LARGE, context.reason());
        assertTrue(context.message().contains("context of 100"), context.message());
        scheduler.tell(new Scheduler.Submit("empty", new int[0], greedy(5), 1, events.getRef()));
        assertEquals(SequenceEvent.Reason.TOO_LARGE, assertInstanceOf(SequenceEvent.Rejected.class, events.receiveMessage()).reason());
    }

    @Test
    void beyondTheWaitingLimitRequestsAreRefusedAsQueueFull() {
        TestProbe<SequenceEvent> a = kit.createTestProbe();
        TestProbe<SequenceEvent> b = kit.createTestProbe();
        TestProbe<SequenceEvent> c = kit.createTestProbe();
        scheduler.tell(new Scheduler.Submit("a", PROMPT, greedy(80), 1, a.getRef()));
        a.expectMessageClass(SequenceEvent.Queued.class);
        a.expectMessageClass(SequenceEvent.TextDelta.class, Duration.ofSeconds(30));
        scheduler.tell(new Scheduler.Submit("b", PROMPT, greedy(5), 1, b.getRef()));
        b.expectMessageClass(SequenceEvent.Queued.class);
        scheduler.tell(new Scheduler.Submit("c", PROMPT, greedy(5), 1, c.getRef()));
        var refused = assertInstanceOf(SequenceEvent.Rejected.class, c.receiveMessage());
        assertEquals(SequenceEvent.Reason.QUEUE_FULL, refused.reason());
        scheduler.tell(new Scheduler.Cancel("a"));
        scheduler.tell(new Scheduler.Cancel("b"));
    }

    @Test
    void aCancelledRequestStopsAndReturnsItsBlocks() {
        TestProbe<SequenceEvent> events = kit.createTestProbe();
        scheduler.tell(new Scheduler.Submit("c1", PROMPT, greedy(90), 1, events.getRef()));
        events.expectMessageClass(SequenceEvent.Queued.class);
        events.expectMessageClass(SequenceEvent.TextDelta.class, Duration.ofSeconds(30));
        scheduler.tell(new Scheduler.Cancel("c1"));
        TestProbe<Done> drained = kit.createTestProbe();
        scheduler.tell(new Scheduler.Drain(Duration.ofSeconds(30), drained.getRef()));
        drained.expectMessage(Duration.ofSeconds(10), Done.getInstance());
        assertEquals(0, pool.usedBlocks());
    }

    @Test
    void drainRefusesNewRequestsAndEndsRunningOnesWithAnErrorAfterTheTimeout() {
        TestProbe<SequenceEvent> events = kit.createTestProbe();
        scheduler.tell(new Scheduler.Submit("d1", PROMPT, greedy(90), 1, events.getRef()));
        events.expectMessageClass(SequenceEvent.Queued.class);
        TestProbe<Done> drained = kit.createTestProbe();
        scheduler.tell(new Scheduler.Drain(Duration.ofMillis(1), drained.getRef()));
        TestProbe<SequenceEvent> late = kit.createTestProbe();
        scheduler.tell(new Scheduler.Submit("d2", PROMPT, greedy(5), 1, late.getRef()));
        assertEquals(SequenceEvent.Reason.DRAINING, assertInstanceOf(SequenceEvent.Rejected.class, late.receiveMessage()).reason());
        drained.expectMessage(Duration.ofSeconds(10), Done.getInstance());
        SequenceEvent e;
        do {
            e = events.receiveMessage(Duration.ofSeconds(10));
        } while (e instanceof SequenceEvent.TextDelta);
        assertTrue(assertInstanceOf(SequenceEvent.Failed.class, e).message().contains("shutting down"));
        assertEquals(0, pool.usedBlocks());
    }

    /** A request's text and token count as its events told them, or its error. */
    private record Outcome(String text, int tokens, String error) {}

    private static Outcome outcome(TestProbe<SequenceEvent> events) {
        assertInstanceOf(SequenceEvent.Queued.class, events.receiveMessage(Duration.ofSeconds(30)));
        StringBuilder text = new StringBuilder();
        while (true) {
            switch (events.receiveMessage(Duration.ofSeconds(30))) {
                case SequenceEvent.TextDelta d -> text.append(d.text());
                case SequenceEvent.ChoiceFinished _ -> { }
                case SequenceEvent.Finished f -> {
                    return new Outcome(text.toString(), f.completionTokens(), null);
                }
                case SequenceEvent.Failed f -> {
                    return new Outcome(text.toString(), -1, f.message());
                }
                case SequenceEvent e -> throw new AssertionError("unexpected event " + e);
            }
        }
    }

    @Test
    void aRequestWhoseSamplingFailsEndsAloneAndItsNeighboursGetTheirSoloTokens() {
        var wide = new KvBlockPool(model.config(), 16, 40 * KvBlockPool.bytesPerBlock(model.config(), 16));
        ActorRef<Scheduler.Command> batching = TinySchedulers.spawn(kit, model, tokenizer, compute, wide, 64, 8, 8, 100);
        int[][] prompts = {PROMPT, {3, 17, 900}, {4053, 1449, 2000, 3000, 12}, {5, 6, 7, 8, 9, 10, 11}};
        SamplingParams[] params = {greedy(12),
                new SamplingParams(0.8f, 0, 1, 0, 1, 0, 0, 7L, 12, 0, Set.of(), List.of(), Map.of(), SamplingParams.NO_LOGPROBS),
                greedy(9),
                new SamplingParams(1.2f, 40, 0.9f, 0, 1.1f, 0.5f, 0, 11L, 10, 0, Set.of(), List.of(), Map.of(), SamplingParams.NO_LOGPROBS)};
        // Every token is a stop token that min_tokens bans: no token is left to sample.
        Set<Integer> everyToken = IntStream.range(0, model.config().vocabSize()).boxed().collect(Collectors.toSet());
        var poisoned = new SamplingParams(1, 0, 1, 0, 1, 0, 0, 3L, 8, 4, everyToken, List.of(), Map.of(), SamplingParams.NO_LOGPROBS);
        try {
            Outcome[] solo = new Outcome[prompts.length];
            for (int i = 0; i < prompts.length; i++) {
                TestProbe<SequenceEvent> events = kit.createTestProbe();
                batching.tell(new Scheduler.Submit("solo" + i, prompts[i], params[i], 1, events.getRef()));
                solo[i] = outcome(events);
                assertEquals(null, solo[i].error(), "solo run " + i);
            }
            List<TestProbe<SequenceEvent>> probes = new ArrayList<>();
            TestProbe<SequenceEvent> bad = kit.createTestProbe();
            for (int i = 0; i < prompts.length; i++) {
                if (i == 2) batching.tell(new Scheduler.Submit("poisoned", PROMPT, poisoned, 1, bad.getRef()));
                probes.add(kit.createTestProbe());
                batching.tell(new Scheduler.Submit("beside" + i, prompts[i], params[i], 1, probes.get(i).getRef()));
            }
            Outcome failed = outcome(bad);
            assertTrue(failed.error() != null && failed.error().contains("no token can be sampled"), "poisoned request: " + failed);
            for (int i = 0; i < prompts.length; i++) {
                assertEquals(solo[i], outcome(probes.get(i)), "request " + i + " beside the poisoned one against its solo run");
            }
            assertEquals(0, wide.usedBlocks());
        } finally {
            kit.stop(batching);
        }
    }
}
