package io.expertmesh.attention;

import io.expertmesh.kvstore.KvBlockPool;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.tokenizer.Tokenizer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;

/** Spawns a scheduler over the tiny model for the scheduler tests: CPU engine step, fresh metrics, the given pool. */
final class TinySchedulers {
    private TinySchedulers() {}

    /** A scheduler with {@code tokensPerStep}, {@code running} and {@code waiting} limits and a context of {@code maxContext}. */
    static ActorRef<Scheduler.Command> spawn(ActorTestKit kit, LoadedModel model, Tokenizer tokenizer, ExecutorService compute,
                                             KvBlockPool pool, int tokensPerStep, int running, int waiting, int maxContext) {
        int experts = model.config().numExperts();
        var metrics = new ServingMetrics(new SimpleMeterRegistry(), pool, new ExpertLoad(experts), new PlacementView(experts), "test");
        var settings = new SchedulerSettings(tokensPerStep, running, waiting, maxContext, Duration.ofSeconds(30), Duration.ofSeconds(5));
        return kit.spawn(Scheduler.create(settings, new EngineStep(model.model(), new ExpertLoad(experts)), compute, pool, tokenizer, metrics));
    }
}
