package io.expertmesh.model.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.ModelFormatException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The tensors of a model under their Hugging Face names: those of a model directory (one
 * {@code model.safetensors}, or the shards listed by {@code model.safetensors.index.json}), or those of
 * another format mapped to the same names ({@link #of}). Every file is memory-mapped, so opening a
 * 44 GB checkpoint costs address space, not heap.
 */
public final class Checkpoint implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path source;
    private final Arena arena;
    private final Map<String, Tensor> tensors;

    private Checkpoint(Path source, Arena arena, Map<String, Tensor> tensors) {
        this.source = source;
        this.arena = arena;
        this.tensors = tensors;
    }

    /**
     * Tensors that another reader mapped into {@code arena} from {@code source}, already under their
     * Hugging Face names; the checkpoint owns the arena from here on and closes it on {@link #close}.
     */
    public static Checkpoint of(Path source, Arena arena, Map<String, Tensor> tensors) {
        return new Checkpoint(source, arena, Collections.unmodifiableMap(new LinkedHashMap<>(tensors)));
    }

    public static Checkpoint open(Path dir) {
        if (!Files.isDirectory(dir)) throw new ModelFormatException(dir + ": not a directory");
        Arena arena = Arena.ofShared();
        try {
            Path index = dir.resolve(INDEX_FILE);
            Map<String, Tensor> tensors = Files.exists(index) ? openSharded(dir, index, arena) : openSingle(dir, arena);
            return new Checkpoint(dir, arena, Collections.unmodifiableMap(tensors));
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Map<String, Tensor> openSingle(Path dir, Arena arena) {
        Path file = dir.resolve(SINGLE_FILE);
        if (!Files.exists(file)) {
            throw new ModelFormatException(dir + ": no " + SINGLE_FILE + " or " + INDEX_FILE + " in the model directory");
        }
        return new LinkedHashMap<>(SafetensorsFile.open(file, arena).tensors());
    }

    private static Map<String, Tensor> openSharded(Path dir, Path index, Arena arena) {
        JsonNode weightMap = Json.readTree(index).get("weight_map");
        if (weightMap == null || !weightMap.isObject() || weightMap.isEmpty()) {
            throw new ModelFormatException(index + ": missing or empty 'weight_map'");
        }
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (var entry : weightMap.properties()) {
            String name = entry.getKey();
            String fileName = entry.getValue().asText();
            if (fileName.contains("/") || fileName.contains("\\") || fileName.isEmpty()) {
                throw new ModelFormatException(index + ": tensor " + name + " maps to an invalid file name \"" + fileName + "\"");
            }
            SafetensorsFile shard = shards.computeIfAbsent(fileName, f -> SafetensorsFile.open(dir.resolve(f), arena));
            Tensor t = shard.tensors().get(name);
            if (t == null) {
                throw new ModelFormatException(index + ": tensor " + name + " is listed in " + fileName + " but that file does not hold it");
            }
            tensors.put(name, t);
        }
        return tensors;
    }

    /** The model directory, or the file the tensors were read from. */
    public Path source() {
        return source;
    }

    public Set<String> names() {
        return tensors.keySet();
    }

    public Optional<Tensor> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** The named tensor, or an error naming it and the directory or file. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new ModelFormatException(source + ": missing tensor " + name);
        return t;
    }

    @Override
    public void close() {
        arena.close();
    }
}
