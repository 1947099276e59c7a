package io.expertmesh.cluster;

import com.typesafe.config.Config;
import io.expertmesh.gateway.GatewaySettings;
import io.expertmesh.kvstore.KvBlockPool;
import io.expertmesh.model.cuda.CheckpointWeights;
import io.expertmesh.model.cuda.CudaDevice;
import io.expertmesh.model.cuda.Gpu;
import io.expertmesh.model.cuda.GpuKvBlocks;
import io.expertmesh.model.cuda.GpuRoutedExperts;
import io.expertmesh.model.cuda.GpuWeights;
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
            case AUTO -> {
                var reason = CudaDevice.unavailableReason();
                reason.ifPresent(r -> LOG.info("expertmesh.engine.device = auto: running on the CPU, no usable GPU ({})", r));
                yield reason.isEmpty() ? () -> CudaDevice.open(0) : null;
            }
        };
        return start(modelDir, config, settings, http, gpu);
    }

    /**
     * As {@link #start(Path, Config, GatewaySettings)} with the engine on the GPU {@code gpu} opens, or
     * on the CPU when null (or, with {@code expertmesh.engine.device = auto}, when that GPU cannot take it).
     */
    static MeshNode start(Path modelDir, Config config, GatewaySettings http, Supplier<Gpu> gpu) {
        return start(modelDir, config, NodeSettings.from(config), http, gpu);
    }

    private static MeshNode start(Path modelDir, Config config, NodeSettings settings, GatewaySettings http, Supplier<Gpu> gpu) {
        return start(modelDir, config, settings, http, gpu, settings.engine().device() == EngineSettings.Device.AUTO);
    }

    /**
     * {@code settings} were read from {@code config}, which the actor system is started with; with
     * {@code cpuFallback} (device auto) a GPU that cannot take the model leaves the node on the CPU.
     */
    private static MeshNode start(Path modelDir, Config config, NodeSettings settings, GatewaySettings http, Supplier<Gpu> gpu,
                                  boolean cpuFallback) {
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
        GpuWeights gpuWeights = null;
        GpuKvBlocks gpuKv = null;
        GpuRoutedExperts gpuExperts = null;
        if (gpu != null) {
            try {
                if (roles.contains("attention")) {
                    checkGpuKv(settings);
                    gpuWeights = upload(model, gpu);
                    gpuKv = allocateKv(gpuWeights, settings);
                } else {
                    gpuExperts = new GpuRoutedExperts(gpu.get(), model.config());
                    LOG.info("experts of this node run on {} (uploaded as their entities start)", gpuExperts.deviceName());
                }
            } catch (RuntimeException e) {
                if (gpuWeights != null) gpuWeights.close();
                gpuWeights = null;
                if (!cpuFallback) {
                    model.close();
                    throw e;
                }
                LOG.warn("expertmesh.engine.device = auto: running on the CPU, the GPU cannot take this node's engine: {}", e.getMessage());
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
            system = ActorSystem.create(Guardian.create(new Guardian.NodeSetup(model, gpuWeights, gpuKv, gpuExperts, tokenizer, template, modelId,
                    settings, http, bound)), "expertmesh", config);
        } catch (RuntimeException e) {
            if (gpuWeights != null) gpuWeights.close();
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

    /** The GPU engine keeps KV in blocks of its own size, as many as the scheduler's pool will hand out. */
    private static void checkGpuKv(NodeSettings settings) {
        int blockSize = settings.kv().blockSize();
        if (blockSize != GpuKvBlocks.BLOCK) {
            throw new IllegalArgumentException("the GPU engine needs expertmesh.kv.block-size = " + GpuKvBlocks.BLOCK + ", not " + blockSize);
        }
    }

    /** The model's weights on the GPU {@code gpu} opens (closed on failure). */
    private static GpuWeights upload(LoadedModel model, Supplier<Gpu> gpu) {
        var c = model.config();
        long t0 = System.nanoTime();
        Gpu device = gpu.get();
        try {
            GpuWeights weights = GpuWeights.upload(device, c, new CheckpointWeights(device, model.weights(), model.experts(),
                    layer -> LOG.info("uploaded layer {} of {} to {}", layer + 1, c.numLayers(), device.name())));
            LOG.info("engine on {}: {} GB of weights in {} ms", device.name(), String.format("%.2f", weights.bytes() / 1e9),
                    (System.nanoTime() - t0) / 1_000_000);
            return weights;
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
    }

    /** Device KV memory of exactly the blocks the scheduler's (device-resident) pool will hand out. */
    private static GpuKvBlocks allocateKv(GpuWeights weights, NodeSettings settings) {
        var c = weights.config();
        long blocks = settings.kv().budget() / KvBlockPool.bytesPerBlock(c, GpuKvBlocks.BLOCK);
        if (blocks < 1 || blocks > Integer.MAX_VALUE / GpuKvBlocks.BLOCK) {
            throw new IllegalArgumentException("expertmesh.kv.budget must hold between 1 and " + Integer.MAX_VALUE / GpuKvBlocks.BLOCK + " KV blocks");
        }
        GpuKvBlocks kv = GpuKvBlocks.allocate(weights.device(), c, (int) blocks);
        long[] memory = weights.device().memoryUsedAndTotal();
        LOG.info("KV cache on {}: {} blocks; {} of {} GiB of device memory in use", weights.device().name(), blocks, memory[0] >> 30,
                memory[1] >> 30);
        return kv;
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
