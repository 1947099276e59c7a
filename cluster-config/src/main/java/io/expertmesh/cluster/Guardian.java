package io.expertmesh.cluster;

import io.expertmesh.attention.DispatchedMoeFeedForward;
import io.expertmesh.attention.EngineStep;
import io.expertmesh.attention.ExpertLoad;
import io.expertmesh.attention.PlacementAwareMoeFeedForward;
import io.expertmesh.attention.PlacementTracker;
import io.expertmesh.attention.PlacementView;
import io.expertmesh.attention.Scheduler;
import io.expertmesh.attention.SchedulerSettings;
import io.expertmesh.attention.ServingMetrics;
import io.expertmesh.attention.SharedExpert;
import io.expertmesh.experts.ExpertEntity;
import io.expertmesh.experts.ExpertHost;
import io.expertmesh.gateway.GatewaySettings;
import io.expertmesh.gateway.HttpApi;
import io.expertmesh.gateway.HttpServer;
import io.expertmesh.gateway.ServedModel;
import io.expertmesh.model.guided.TokenVocabulary;
import io.expertmesh.kvstore.KvBlockPool;
import io.expertmesh.kvstore.KvSettings;
import io.expertmesh.model.cuda.GpuKvBlocks;
import io.expertmesh.model.cuda.GpuModel;
import io.expertmesh.model.cuda.GpuRoutedExperts;
import io.expertmesh.model.cuda.GpuWeights;
import io.expertmesh.model.engine.ErnieModel;
import io.expertmesh.model.engine.ExpertStore;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.engine.LocalExpertStore;
import io.expertmesh.model.engine.ModelStep;
import io.expertmesh.model.generate.StopTokens;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.tokenizer.ChatTemplate;
import io.expertmesh.model.tokenizer.Tokenizer;
import io.expertmesh.model.weights.RoutedExpertWeights;
import io.expertmesh.protocol.DispatchFrames;
import io.expertmesh.protocol.ExpertHostProtocol;
import io.expertmesh.protocol.RoutedExpertProtocol;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.CompletableFuture;
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

/**
 * The root actor of a node: joins the cluster (itself when no seed nodes are configured) and starts
 * what the node's roles ask for: {@code expert}, the expert host and the sharded expert entities;
 * {@code attention}, the placement tracker, the shared expert and the scheduler; {@code gateway},
 * the HTTP API. Wires graceful shutdown (stop admitting, drain, unbind, release the model).
 * {@code bound} completes with the HTTP port once the API listens (-1 on a node without the
 * gateway role), or fails when it cannot.
 */
final class Guardian {
    private Guardian() {}

    /**
     * What the node was started with: the opened model, its weights and KV memory on the GPU when the
     * engine runs there (else null), the GPU store of an expert-only node's experts (else null: they
     * run on the CPU), and the settings.
     */
    record NodeSetup(LoadedModel model, GpuWeights gpuWeights, GpuKvBlocks gpuKv, GpuRoutedExperts gpuExperts, Tokenizer tokenizer, ChatTemplate chatTemplate,
                     String modelId, NodeSettings settings, GatewaySettings http, CompletableFuture<Integer> bound) {}

    static Behavior<Void> create(NodeSetup setup) {
        return Behaviors.setup(ctx -> {
            start(ctx, setup);
            return Behaviors.empty();
        });
    }

    private static void start(ActorContext<Void> ctx, NodeSetup setup) {
        ActorSystem<Void> system = ctx.getSystem();
        NodeSettings settings = setup.settings();
        LoadedModel loaded = setup.model();
        var modelConfig = loaded.config();
        boolean expert = settings.has("expert");
        Cluster cluster = Cluster.get(system);
        if (settings.joinSelf()) {
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
        }
        String node = cluster.selfMember().address().toString();
        // One set of compute threads per node: the engine, the expert host and the shared expert take
        // turns on it, instead of several pools spinning against each other for the same cores.
        KernelBackend backend = loaded.model().backend();

        ActorRef<ExpertHostProtocol.Command> host = null;
        if (expert) {
            ExpertStore store = setup.gpuExperts() != null ? setup.gpuExperts() : new LocalExpertStore(modelConfig, backend);
            host = ctx.spawn(ExpertHost.create(store, node, settings.hostname(), settings.experts(), settings.linkTransport(),
                            dispatchFrames(system, settings)),
                    "expert-host", DispatcherSelector.fromConfig(ExpertHost.DISPATCHER));
        }
        ActorRef<ExpertHostProtocol.Command> localHost = host;
        Checkpoint checkpoint = loaded.checkpoint();
        ClusterSharding.get(system).init(Entity.of(RoutedExpertProtocol.TYPE_KEY, entity ->
                        ExpertEntity.create(Integer.parseInt(entity.getEntityId()), localHost,
                                e -> RoutedExpertWeights.loadExpert(checkpoint, modelConfig, e)))
                .withRole("expert"));

        CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
        if (settings.has("attention")) {
            startAttention(ctx, setup, node, expert, shutdown);
        } else {
            setup.bound().complete(-1);
        }
        shutdown.addTask(CoordinatedShutdown.PhaseServiceStop(), "release-model", () -> {
            // Closing the device frees everything on it, the engine's buffers and captured graphs too.
            if (setup.gpuWeights() != null) setup.gpuWeights().close();
            if (setup.gpuExperts() != null) setup.gpuExperts().close();
            loaded.close();
            return CompletableFuture.completedFuture(Done.getInstance());
        });
    }

    /** The placement tracker, shared expert, scheduler and (with the gateway role) the HTTP API. */
    private static void startAttention(ActorContext<Void> ctx, NodeSetup setup, String node, boolean expert, CoordinatedShutdown shutdown) {
        ActorSystem<Void> system = ctx.getSystem();
        NodeSettings settings = setup.settings();
        LoadedModel loaded = setup.model();
        var modelConfig = loaded.config();
        PlacementView placement = new PlacementView(modelConfig.numExperts());
        ctx.spawn(PlacementTracker.create(placement, settings.dispatch().wakeInterval()), "placement");
        ActorRef<SharedExpert.Command> shared = ctx.spawn(SharedExpert.create(loaded.weights(), loaded.model().backend()), "shared-expert",
                DispatcherSelector.fromConfig(SharedExpert.DISPATCHER));

        ExpertLoad load = new ExpertLoad(modelConfig.numExperts());
        SchedulerSettings schedulerSettings = settings.scheduler().forModel(modelConfig.maxPositions());
        KvSettings kv = settings.kv();
        KvBlockPool pool = setup.gpuWeights() != null ? KvBlockPool.deviceResident(modelConfig, kv.blockSize(), kv.budget())
                : new KvBlockPool(modelConfig, kv.blockSize(), kv.budget());
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ServingMetrics metrics = new ServingMetrics(registry, pool, load, placement, node);
        var dispatched = new DispatchedMoeFeedForward(loaded.weights(), placement, shared, system, dispatchFrames(system, settings),
                settings.linkTransport(), settings.dispatch(), metrics);
        shutdown.addTask(CoordinatedShutdown.PhaseServiceStop(), "close-dispatch-links", () -> {
            dispatched.close();
            return CompletableFuture.completedFuture(Done.getInstance());
        });
        boolean fastPath = expert && settings.dispatch().localFastPath();
        // One MoE hook for either backend: in-process experts while all of them are placed here (on a
        // GPU those on the device), else dispatch to the expert nodes.
        var moe = new PlacementAwareMoeFeedForward(fastPath ? loaded.localMoe() : null, dispatched, placement, node, metrics::moeLayer);
        ModelStep model = setup.gpuWeights() != null ? new GpuModel(setup.gpuWeights(), setup.gpuKv(), moe)
                : new ErnieModel(loaded.weights(), moe, loaded.model().backend());
        EngineStep engine = new EngineStep(model, load);
        ActorRef<Scheduler.Command> scheduler = ctx.spawn(Scheduler.create(schedulerSettings, engine,
                system.dispatchers().lookup(DispatcherSelector.fromConfig(Scheduler.ENGINE_DISPATCHER)), pool,
                setup.tokenizer(), metrics), "scheduler");
        ctx.getLog().info("KV cache: {} blocks of {} tokens ({} MiB budget); scheduler: {} tokens per step, {} running, {} waiting, context {}",
                pool.totalBlocks(), pool.blockSize(), kv.budget() >> 20, schedulerSettings.maxBatchTokens(),
                schedulerSettings.maxRunning(), schedulerSettings.maxWaiting(), schedulerSettings.maxContext());

        HttpApi api = null;
        if (settings.has("gateway")) {
            ServedModel served = new ServedModel(setup.modelId(), setup.tokenizer(), TokenVocabulary.of(setup.tokenizer()), setup.chatTemplate(), schedulerSettings.maxContext(),
                    StopTokens.defaults(modelConfig, setup.tokenizer()), setup.http().defaultMaxTokens());
            api = new HttpApi(system, scheduler, served, setup.http(), placement, load, registry);
            CompletableFuture<HttpServer.Binding> binding = api.bind().toCompletableFuture();
            binding.whenComplete((b, failure) -> {
                if (failure != null) setup.bound().completeExceptionally(failure);
                else setup.bound().complete(b.localAddress().getPort());
            });
            shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "http-unbind", () ->
                    binding.thenCompose(HttpServer.Binding::unbind).exceptionally(e -> Done.getInstance()));
        } else {
            setup.bound().complete(-1);
        }
        HttpApi stopAdmitting = api;
        shutdown.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "drain-requests", () -> {
            if (stopAdmitting != null) stopAdmitting.stopAdmitting();
            return AskPattern.<Scheduler.Command, Done>ask(scheduler, replyTo -> new Scheduler.Drain(schedulerSettings.drainTimeout(), replyTo),
                    schedulerSettings.drainWait(), system.scheduler());
        });
    }

    /** Both ends of a dispatch link carry frames up to the expert host's limit. */
    private static DispatchFrames dispatchFrames(ActorSystem<?> system, NodeSettings settings) {
        return new DispatchFrames(system, settings.experts().maxFrameSize());
    }
}
