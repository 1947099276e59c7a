package io.expertmesh.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.safetensors.SafetensorsFile;
import io.expertmesh.model.safetensors.Tensor;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** The bundled tiny checkpoint and the transformers reference outputs stored beside it. */
public final class TinyModel {
    private TinyModel() {}

    public static Path dir() {
        String configured = System.getProperty("expertmesh.tinyModel");
        Path dir = configured != null ? Path.of(configured) : Path.of("..", "models", "tiny-ernie-4.5-moe");
        if (!Files.isDirectory(dir)) throw new IllegalStateException("tiny model not found at " + dir.toAbsolutePath());
        return dir;
    }

    public static JsonNode referenceJson() {
        return Json.readTree(dir().resolve("reference.json"));
    }

    public static JsonNode tokenizerReference() {
        return Json.readTree(dir().resolve("tokenizer_reference.json"));
    }

    /** Reference tensors, mapped for the life of the test JVM. */
    public static Map<String, Tensor> referenceTensors() {
        return SafetensorsFile.open(dir().resolve("reference.safetensors"), Arena.ofAuto()).tensors();
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
