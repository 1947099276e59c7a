package io.expertmesh.kvstore;

import com.typesafe.config.Config;

/** The KV cache's size (HOCON {@code expertmesh.kv}): tokens per block and the byte budget all blocks share. */
public record KvSettings(int blockSize, long budget) {
    public KvSettings {
        if (blockSize < 1) throw new IllegalArgumentException("expertmesh.kv.block-size must be at least 1, got " + blockSize);
        if (budget < 1) throw new IllegalArgumentException("expertmesh.kv.budget must be at least 1 byte, got " + budget + " bytes");
    }

    /** Reads {@code expertmesh.kv}. */
    public static KvSettings from(Config config) {
        return new KvSettings(config.getInt("expertmesh.kv.block-size"), config.getBytes("expertmesh.kv.budget"));
    }
}
