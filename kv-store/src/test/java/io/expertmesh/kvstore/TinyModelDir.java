package io.expertmesh.kvstore;

import io.expertmesh.model.config.ErnieConfig;
import java.nio.file.Files;
import java.nio.file.Path;

/** The bundled tiny checkpoint whose path surefire passes in {@code expertmesh.tinyModel}. */
final class TinyModelDir {
    private TinyModelDir() {}

    static Path path() {
        String configured = System.getProperty("expertmesh.tinyModel");
        Path dir = configured != null ? Path.of(configured) : Path.of("..", "models", "tiny-ernie-4.5-moe");
        if (!Files.isDirectory(dir)) throw new IllegalStateException("tiny model not found at " + dir.toAbsolutePath());
        return dir;
    }

    /** 4 layers, 2 KV heads of 16: a 16-token block is 4 × 2 × 16 × 32 floats = 16384 bytes. */
    static ErnieConfig config() {
        return ErnieConfig.load(path());
    }
}
