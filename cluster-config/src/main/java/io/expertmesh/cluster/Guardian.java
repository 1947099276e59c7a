package io.expertmesh.cluster;

import io.expertmesh.attention.DispatchedMoeFeedForward;
import io.expertmesh.attention.EngineStep;
import io.expertmesh.attention.Scheduler;
import io.expertmesh.attention.SchedulerSettings;
import io.expertmesh.attention.ServingMetrics;
import io.expertmesh.experts.ExpertEntity;
import io.expertmesh.experts.ExpertHost;
import io.expertmesh.experts.ExpertLoad;
import io.expertmesh.experts.PlacementTracker;
import io.expertmesh.experts.PlacementView;
import io.expertmesh.experts.SharedExpert;
import io.expertmesh.gateway.GatewaySettings;
import io.expertmesh.gateway.HttpApi;
import io.expertmesh.gateway.ServedModel;
import io.expertmesh.kvstore.KvBlockPool;
import io.expertmesh.model.engine.ErnieModel;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.generate.StopTokens;
import io.expertmesh.model.kernels.CpuBackend;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.tokenizer.ChatTemplate;
import io.expertmesh.model.tokenizer.Tokenizer;
import io.expertmesh.model.weights.RoutedExpertWeights;
import com.typesafe.config.Config;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;

/**
 * The root actor of a node: joins the cluster, starts the node's expert host and the sharded
 * expert entities, the placement tracker, the shared expert, the scheduler, and the HTTP API; wires
 * graceful shutdown (stop admitting, drain, unbind). {@code bound} completes with the HTTP port
 * once the API listens, or fails when it cannot.
 */
final class Guardian {
    private Guardian() {}

    /** What the node was started with: the opened model and the settings. */
    record NodeSetup(LoadedModel model, Tokenizer tokenizer, ChatTemplate chatTemplate, String modelId, Config config,
                     GatewaySettings http, CompletableFuture<Integer> bound) {}

    static Behavior<Void> create(NodeSetup setup) {
        return Behaviors.setup(ctx -> {
            start(ctx, setup);
            return Behaviors.empty();
        });
    }

    private static void start(ActorContext<Void> ctx, NodeSetup setup) {
        ActorSystem<Void> system = ctx.getSystem();
        Config config = setup.config();
        LoadedModel loaded = setup.model();
        var modelConfig = loaded.config();
        Cluster cluster = Cluster.get(system);
        if (config.getStringList("pekko.cluster.seed-nodes").isEmpty()) {
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
        }
        String node = cluster.selfMember().address().toString();
        int threads = threads(config);

        Executor expertCompute = system.dispatchers().lookup(DispatcherSelector.fromConfig("expertmesh-expert-dispatcher"));
        CpuBackend expertBackend = new CpuBackend(threads);
        CpuBackend sharedBackend = new CpuBackend(threads);
        ActorRef<ExpertHost.Command> host = ctx.spawn(ExpertHost.create(modelConfig, expertBackend, expertCompute, node), "expert-host");
        Checkpoint checkpoint = loaded.checkpoint();
        ClusterSharding.get(system).init(Entity.of(ExpertEntity.TYPE_KEY, entity ->
                        ExpertEntity.create(Integer.parseInt(entity.getEntityId()), host,
                                expert -> RoutedExpertWeights.loadExpert(checkpoint, modelConfig, expert)))
                .withRole("expert"));

        PlacementView placement = new PlacementView(modelConfig.numExperts());
        ctx.spawn(PlacementTracker.create(placement, config.getDuration("expertmesh.experts.wake-interval")), "placement");
        ActorRef<SharedExpert.Command> shared = ctx.spawn(SharedExpert.create(loaded.weights(), sharedBackend,
                system.dispatchers().lookup(DispatcherSelector.fromConfig("expertmesh-shared-expert-dispatcher"))), "shared-expert");

        ErnieModel model = loaded.model();
        if (!config.getBoolean("expertmesh.experts.local-fast-path")) {
            model = new ErnieModel(loaded.weights(), new DispatchedMoeFeedForward(loaded.weights(), placement, shared, system,
                    config.getDuration("expertmesh.experts.reply-timeout"), config.getInt("expertmesh.experts.dispatch-attempts")),
                    loaded.model().backend());
        }
        ExpertLoad load = new ExpertLoad(modelConfig.numExperts());
        SchedulerSettings schedulerSettings = SchedulerSettings.from(config, modelConfig.maxPositions());
        KvBlockPool pool = new KvBlockPool(modelConfig, config.getInt("expertmesh.kv.block-size"), config.getBytes("expertmesh.kv.budget"));
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ServingMetrics metrics = new ServingMetrics(registry, pool, load, node);
        ActorRef<Scheduler.Command> scheduler = ctx.spawn(Scheduler.create(schedulerSettings, new EngineStep(model, load),
                system.dispatchers().lookup(DispatcherSelector.fromConfig("expertmesh-engine-dispatcher")), pool,
                setup.tokenizer(), metrics), "scheduler");
        ctx.getLog().info("KV cache: {} blocks of {} tokens ({} MiB budget); scheduler: {} tokens per step, {} running, {} waiting, context {}",
                pool.totalBlocks(), pool.blockSize(), config.getBytes("expertmesh.kv.budget") >> 20, schedulerSettings.maxBatchTokens(),
                schedulerSettings.maxRunning(), schedulerSettings.maxWaiting(), schedulerSettings.maxContext());

        ServedModel served = new ServedModel(setup.modelId(), setup.tokenizer(), setup.chatTemplate(), schedulerSettings.maxContext(),
                StopTokens.defaults(modelConfig, setup.tokenizer()), setup.http().defaultMaxTokens());
        HttpApi api = new HttpApi(system, scheduler, served, setup.http(), placement, load, registry);
        CompletableFuture<ServerBinding> binding = Http.get(system).newServerAt(setup.http().host(), setup.http().port())
                .bind(api.routes()).toCompletableFuture();
        binding.whenComplete((b, failure) -> {
            if (failure != null) {
                setup.bound().completeExceptionally(failure);
            } else {
                setup.bound().complete(b.localAddress().getPort());
            }
        });

        Duration drainTimeout = config.getDuration("expertmesh.scheduler.drain-timeout");
        CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
        shutdown.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "drain-requests", () -> {
            api.stopAdmitting();
            return AskPattern.<Scheduler.Command, Done>ask(scheduler, replyTo -> new Scheduler.Drain(drainTimeout, replyTo),
                    drainTimeout.plusSeconds(5), system.scheduler());
        });
        shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "http-unbind", () ->
                binding.thenCompose(ServerBinding::unbind).exceptionally(e -> Done.getInstance()));
        shutdown.addTask(CoordinatedShutdown.PhaseServiceStop(), "release-model", () -> {
            expertBackend.close();
            sharedBackend.close();
            loaded.close();
            return CompletableFuture.completedFuture(Done.getInstance());
        });
    }

    static int threads(Config config) {
        int t = config.getInt("expertmesh.engine.threads");
        return t > 0 ? t : Runtime.getRuntime().availableProcessors();
    }
}
