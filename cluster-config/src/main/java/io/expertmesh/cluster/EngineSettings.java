package io.expertmesh.cluster;

import com.typesafe.config.Config;

/**
 * Where a node's engine runs (HOCON {@code expertmesh.engine}): the kernel backend's compute threads
 * (0: one per available processor) and the device, cpu, cuda or auto (cuda when a GPU is present).
 */
record EngineSettings(int threads, Device device) {
    enum Device { CPU, CUDA, AUTO }

    EngineSettings {
        if (threads < 0) {
            throw new IllegalArgumentException("expertmesh.engine.threads must be at least 0 (0: one per available processor), got " + threads);
        }
    }

    static EngineSettings from(Config config) {
        String device = config.getString("expertmesh.engine.device");
        return new EngineSettings(config.getInt("expertmesh.engine.threads"), switch (device) {
            case "cpu" -> Device.CPU;
            case "cuda" -> Device.CUDA;
            case "auto" -> Device.AUTO;
            default -> throw new IllegalArgumentException("expertmesh.engine.device must be cpu, cuda or auto, not '" + device + "'");
        });
    }

    /** The compute threads to start: the setting, or one per available processor. */
    int computeThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
