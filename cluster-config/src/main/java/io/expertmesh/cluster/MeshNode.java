package io.expertmesh.cluster;

import com.typesafe.config.Config;
import io.expertmesh.gateway.GatewaySettings;
import io.expertmesh.kvstore.KvBlockPool;
import io.expertmesh.model.cuda.CheckpointWeights;
import io.expertmesh.model.cuda.CudaDevice;
import io.expertmesh.model.cuda.Gpu;
import io.expertmesh.model.cuda.GpuModel;
import io.expertmesh.model.cuda.GpuRoutedExperts;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.engine.ModelSource;
import io.expertmesh.model.tokenizer.ChatTemplate;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A running node: the opened model, its actor system and the HTTP port it listens on. */
public final class MeshNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MeshNode.class);
    static final List<String> ROLES = List.of("gateway", "attention", "expert");

    private final ActorSystem<Void> system;
    private final int httpPort;
    private final Duration stopTimeout;

    private MeshNode(ActorSystem<Void> system, int httpPort, Duration stopTimeout) {
        this.system = system;
        this.httpPort = httpPort;
        this.stopTimeout = stopTimeout;
    }

    /**
     * Checks the settings, opens the model (on the GPU when {@code expertmesh.engine.device} says so),
     * starts the node and returns once the HTTP API listens.
     */
    public static MeshNode start(Path modelDir, Config config, GatewaySettings http) {
        NodeSettings settings = NodeSettings.from(config);
        Supplier<Gpu> gpu = switch (settings.engine().device()) {
            case CPU -> null;
            case CUDA -> {
                CudaDevice.unavailableReason().ifPresent(reason -> {
                    throw new IllegalArgumentException("expertmesh.engine.device = cuda: " + reason);
                });
                yield () -> CudaDevice.open(0);
            }
            case AUTO -> CudaDevice.unavailableReason().isEmpty() ? () -> CudaDevice.open(0) : null;
        };
        return start(modelDir, config, settings, http, gpu);
    }

    /** As {@link #start(Path, Config, GatewaySettings)} with the engine on the GPU {@code gpu} opens, or on the CPU when null. */
    static MeshNode start(Path modelDir, Config config, GatewaySettings http, Supplier<Gpu> gpu) {
        return start(modelDir, config, NodeSettings.from(config), http, gpu);
    }

    /** {@code settings} were read from {@code config}, which the actor system is started with. */
    private static MeshNode start(Path modelDir, Config config, NodeSettings settings, GatewaySettings http, Supplier<Gpu> gpu) {
        List<String> roles = settings.roles();
        long t0 = System.nanoTime();
        LOG.info("loading model from {}", modelDir);
        ModelSource source = ModelSource.of(modelDir);
        Tokenizer tokenizer = source.tokenizer();
        ChatTemplate template = source.chatTemplate();
        LoadedModel model = LoadedModel.open(modelDir, settings.engine().computeThreads());
        var c = model.config();
        LOG.info("model loaded in {} ms: {} layers, hidden {}, {} experts (top-{}), vocabulary {}, {} threads",
                (System.nanoTime() - t0) / 1_000_000, c.numLayers(), c.hiddenSize(), c.numExperts(), c.expertsPerToken(),
                c.vocabSize(), model.model().backend().threads());
        checkFrameSize(settings, model);
        GpuModel gpuModel = null;
        GpuRoutedExperts gpuExperts = null;
        if (gpu != null) {
            try {
                if (roles.contains("attention")) {
                    gpuModel = upload(model, settings, gpu);
                } else {
                    gpuExperts = new GpuRoutedExperts(gpu.get(), model.config());
                    LOG.info("experts of this node run on {} (uploaded as their entities start)", gpuExperts.deviceName());
                }
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
        }
        String modelId = source.id();
        if (settings.clusterKeys() != null) {
            config = settings.clusterKeys().arteryConfig().withFallback(config);
            LOG.info("cluster transport and dispatch links: mutual TLS as node '{}' with the keys in {}", settings.clusterKeys().nodeName(),
                    settings.clusterKeys().directory());
        } else {
            LOG.warn("cluster transport and dispatch links: PLAINTEXT and unauthenticated ({} is empty)", NodeSettings.CLUSTER_KEYS);
        }
        var bound = new CompletableFuture<Integer>();
        ActorSystem<Void> system;
        try {
            system = ActorSystem.create(Guardian.create(new Guardian.NodeSetup(model, gpuModel, gpuExperts, tokenizer, template, modelId,
                    settings, http, bound)), "expertmesh", config);
        } catch (RuntimeException e) {
            if (gpuModel != null) gpuModel.close();
            if (gpuExperts != null) gpuExperts.close();
            model.close();
            throw e;
        }
        try {
            int port = bound.get(settings.startTimeout().toMillis(), TimeUnit.MILLISECONDS);
            if (port >= 0) {
                LOG.info("HTTP API on http://{}:{} serving model '{}' ({} ms after start); GET /health says when experts are placed; "
                        + "playground: {}", http.host(), port, modelId, (System.nanoTime() - t0) / 1_000_000, playgroundUrl(http.host(), port));
            } else {
                LOG.info("node up with roles {} ({} ms after start)", roles, (System.nanoTime() - t0) / 1_000_000);
            }
            return new MeshNode(system, port, settings.stopTimeout());
        } catch (ExecutionException e) {
            system.terminate();
            throw new IllegalStateException("cannot listen on " + http.host() + ":" + http.port() + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            system.terminate();
            throw new IllegalStateException("the node did not start within expertmesh.node.start-timeout ("
                    + settings.startTimeout().toMillis() + " ms)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            system.terminate();
            throw new IllegalStateException("interrupted while starting", e);
        }
    }

    /**
     * The model on the GPU, with a device KV pool of exactly the blocks the scheduler's pool will hand
     * out. An attention node can put its engine on the GPU only when it runs every expert itself
     * (attention and expert roles, local fast path) for now; an expert-only node puts its experts there.
     */
    private static GpuModel upload(LoadedModel model, NodeSettings settings, Supplier<Gpu> gpu) {
        if (!settings.has("attention") || !settings.has("expert") || !settings.dispatch().localFastPath()) {
            throw new IllegalArgumentException("on the GPU, a node with the attention role needs the expert role too and "
                    + "expertmesh.dispatch.local-fast-path = on (as `mesh serve` has); an expert-only node runs its experts there");
        }
        int blockSize = settings.kv().blockSize();
        if (blockSize != GpuModel.KV_BLOCK) {
            throw new IllegalArgumentException("the GPU engine needs expertmesh.kv.block-size = " + GpuModel.KV_BLOCK + ", not " + blockSize);
        }
        var c = model.config();
        long blocks = settings.kv().budget() / KvBlockPool.bytesPerBlock(c, blockSize);
        if (blocks < 1 || blocks * blockSize > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("expertmesh.kv.budget must hold between 1 and " + Integer.MAX_VALUE / blockSize + " KV blocks");
        }
        long t0 = System.nanoTime();
        Gpu device = gpu.get();
        try {
            GpuModel m = GpuModel.load(device, c, new CheckpointWeights(device, model.weights(), model.experts(),
                    layer -> LOG.info("uploaded layer {} of {} to {}", layer + 1, c.numLayers(), device.name())), (int) (blocks * blockSize));
            long[] memory = device.memoryUsedAndTotal();
            LOG.info("engine on {}: {} GB of BF16 weights and a {}-block KV cache in {} ms; {} of {} GiB of device memory in use",
                    device.name(), String.format("%.2f", m.weightBytes() / 1e9), blocks, (System.nanoTime() - t0) / 1_000_000,
                    memory[0] >> 30, memory[1] >> 30);
            return m;
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
    }

    /** The address a browser opens: a wildcard bind address becomes loopback, an IPv6 literal gets brackets. */
    static String playgroundUrl(String host, int port) {
        String h = host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]") ? "127.0.0.1"
                : host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        return "http://" + h + ":" + port + "/";
    }

    /** The largest dispatch batch (F32 rows, every choice on one node) must fit a dispatch link's frame, or every such step would fail. */
    private static void checkFrameSize(NodeSettings settings, LoadedModel model) {
        var c = model.config();
        int rows = settings.scheduler().maxBatchTokens();
        long largestBatch = (long) rows * (c.hiddenSize() * 4L + c.expertsPerToken() * 9L + 5) + 4096;
        long frame = settings.experts().maxFrameSize();
        if (largestBatch > frame) {
            model.close();
            throw new IllegalArgumentException("a dispatch batch of expertmesh.scheduler.max-batch-tokens = " + rows + " rows needs "
                    + largestBatch + " bytes, more than expertmesh.experts.max-frame-size = " + frame
                    + "; lower the first or raise the second");
        }
    }

    /** The HTTP port, or -1 on a node without the gateway role. */
    public int httpPort() {
        return httpPort;
    }

    public ActorSystem<Void> system() {
        return system;
    }

    /** Blocks until the node has shut down (SIGTERM or {@link #close}). */
    public void awaitTermination() {
        system.getWhenTerminated().toCompletableFuture().join();
    }

    /** Graceful shutdown: stop admitting, drain, unbind, stop; waits up to {@code timeout}, then warns and returns. */
    public void shutdown(Duration timeout) {
        CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.unknownReason());
        try {
            system.getWhenTerminated().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("node did not stop within {}", timeout);
        }
    }

    /** As {@link #shutdown} for up to {@code expertmesh.node.stop-timeout}. */
    @Override
    public void close() {
        shutdown(stopTimeout);
    }
}
