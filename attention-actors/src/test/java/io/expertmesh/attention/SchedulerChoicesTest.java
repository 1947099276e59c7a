package io.expertmesh.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.kvstore.KvBlockPool;
import io.expertmesh.kvstore.PooledSequences;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.engine.SequenceEngine;
import io.expertmesh.model.generate.Generator;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.sampling.TokenLogprobs;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Requests for several choices and for log probabilities, through the scheduler on the tiny model. */
class SchedulerChoicesTest {
    private static final Path MODEL = Path.of(System.getProperty("expertmesh.tinyModel", "../models/tiny-ernie-4.5-moe"));
    /** 40 tokens: two full blocks of 16 that choice 0 publishes for the others. */
    private static final int[] PROMPT = new int[40];
    private static ActorTestKit kit;
    private static LoadedModel model;
    private static Tokenizer tokenizer;
    private static ExecutorService compute;
    private KvBlockPool pool;
    private ActorRef<Scheduler.Command> scheduler;

    static {
        for (int i = 0; i < PROMPT.length; i++) PROMPT[i] = 100 + 37 * i % 3000;
    }

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
        pool = new KvBlockPool(model.config(), 16, 40 * KvBlockPool.bytesPerBlock(model.config(), 16));
        scheduler = TinySchedulers.spawn(kit, model, tokenizer, compute, pool, 256, 8, 8, 200);
    }

    @AfterEach
    void stopScheduler() {
        kit.stop(scheduler);
    }

    private static SamplingParams params(float temperature, Long seed, int maxTokens, int logprobs) {
        return new SamplingParams(temperature, 0, 1, 0, 1, 0, 0, seed, maxTokens, 0, Set.of(), List.of(), Map.of(), logprobs);
    }

    /** Each choice's text and log probabilities, and the request's Finished, as its events told them. */
    private record Choices(List<String> texts, List<List<TokenLogprobs>> logprobs, List<Integer> tokens,
                           SequenceEvent.Finished finished) {}

    private Choices run(String id, SamplingParams params, int n) {
        TestProbe<SequenceEvent> events = kit.createTestProbe();
        scheduler.tell(new Scheduler.Submit(id, PROMPT, params, n, events.getRef()));
        assertInstanceOf(SequenceEvent.Queued.class, events.receiveMessage(Duration.ofSeconds(30)));
        List<StringBuilder> texts = new ArrayList<>();
        List<List<TokenLogprobs>> logprobs = new ArrayList<>();
        List<Integer> tokens = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            texts.add(new StringBuilder());
            logprobs.add(new ArrayList<>());
            tokens.add(-1);
        }
        Set<Integer> finishedChoices = new HashSet<>();
        while (true) {
            switch (events.receiveMessage(Duration.ofSeconds(60))) {
                case SequenceEvent.TextDelta d -> {
                    assertTrue(!finishedChoices.contains(d.choice()), "text after choice " + d.choice() + " finished");
                    texts.get(d.choice()).append(d.text());
                    logprobs.get(d.choice()).addAll(d.logprobs());
                }
                case SequenceEvent.ChoiceFinished f -> {
                    assertTrue(finishedChoices.add(f.choice()), "choice " + f.choice() + " finished twice");
                    tokens.set(f.choice(), f.completionTokens());
                }
                case SequenceEvent.Finished f -> {
                    assertEquals(n, finishedChoices.size(), "every choice finishes before the request");
                    return new Choices(texts.stream().map(StringBuilder::toString).toList(), logprobs, tokens, f);
                }
                case SequenceEvent e -> throw new AssertionError("unexpected event " + e);
            }
        }
    }

    @Test
    void threeGreedyChoicesAreIdenticalShareThePromptBlocksAndCountTheirTokensOnce() {
        long hitsBefore = pool.prefixHits();
        Choices c = run("greedy3", params(0, null, 12, SamplingParams.NO_LOGPROBS), 3);
        String solo = new Generator(PooledSequences.onHeap(model.model()), tokenizer).generate(PROMPT, SamplingParams.greedy(12, Set.of()), t -> {}).text();
        assertEquals(List.of(solo, solo, solo), c.texts());
        assertEquals(List.of(12, 12, 12), c.tokens());
        assertEquals(36, c.finished().completionTokens());
        assertEquals(PROMPT.length, c.finished().promptTokens());
        assertEquals(2 * 2 * 16, pool.prefixHits() - hitsBefore, "choices 1 and 2 each attach the prompt's two full blocks");
        assertEquals(0, pool.usedBlocks());
    }

    @Test
    void withASeedChoicesDifferAndTheSameRequestRepeatsThem() {
        SamplingParams seeded = params(1.5f, 1234L, 16, SamplingParams.NO_LOGPROBS);
        Choices first = run("seeded-a", seeded, 3);
        Choices again = run("seeded-b", seeded, 3);
        assertEquals(first.texts(), again.texts());
        assertEquals(3, new HashSet<>(first.texts()).size(), "three choices, three texts: " + first.texts());
        assertNotEquals(first.texts(), run("seeded-c", seeded.withSeed(99), 3).texts());
    }

    @Test
    void logprobsArriveForEveryTokenAndAreTheLogSoftmaxOfTheEnginesLogits() {
        Choices c = run("logprobs", params(0, null, 10, 3), 2);
        assertEquals(c.logprobs().get(0).size(), c.tokens().get(0), "one entry per generated token");
        List<TokenLogprobs> lps = c.logprobs().get(0);
        try (SequenceEngine.Sequence engine = PooledSequences.onHeap(model.model()).newSequence()) {
            float[] logits = engine.append(PROMPT);
            for (TokenLogprobs lp : lps) {
                double[] expected = logSoftmax(logits);
                assertEquals(expected[lp.token()], lp.logprob(), 1e-4);
                assertEquals(lp.token(), lp.topTokens()[0], "greedy: the chosen token is the most likely");
                assertEquals(3, lp.topTokens().length);
                for (int k = 0; k < 3; k++) assertEquals(expected[lp.topTokens()[k]], lp.topLogprobs()[k], 1e-4);
                logits = engine.append(new int[] {lp.token()});
            }
        }
        assertEquals(lps.stream().map(TokenLogprobs::token).toList(), c.logprobs().get(1).stream().map(TokenLogprobs::token).toList());
    }

    private static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l);
        double sum = 0;
        for (float l : logits) sum += Math.exp(l - max);
        double[] out = new double[logits.length];
        for (int i = 0; i < out.length; i++) out[i] = logits[i] - max - Math.log(sum);
        return out;
    }

    @Test
    void cancellingARequestEndsAllItsChoicesAndFreesTheirBlocks() {
        TestProbe<SequenceEvent> events = kit.createTestProbe();
        scheduler.tell(new Scheduler.Submit("cancel3", PROMPT, params(1f, 5L, 150, SamplingParams.NO_LOGPROBS), 3, events.getRef()));
        events.expectMessageClass(SequenceEvent.Queued.class);
        events.expectMessageClass(SequenceEvent.TextDelta.class, Duration.ofSeconds(30));
        scheduler.tell(new Scheduler.Cancel("cancel3"));
        TestProbe<Done> drained = kit.createTestProbe();
        scheduler.tell(new Scheduler.Drain(Duration.ofSeconds(30), drained.getRef()));
        drained.expectMessage(Duration.ofSeconds(10), Done.getInstance());
        assertEquals(0, pool.usedBlocks());
    }
}
