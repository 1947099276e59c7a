package io.expertmesh.model.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.Json;
import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.TinyModel;
import java.util.List;
import org.junit.jupiter.api.Test;

class ErnieConfigTest {
    private static ErnieConfig parse(String json) throws Exception {
        return ErnieConfig.parse(Json.MAPPER.readTree(json), "config.json");
    }

    @Test
    void absentKeysTakeTransformersDefaultsOfThe21bModel() throws Exception {
        ErnieConfig c = parse("{}");
        assertEquals(2560, c.hiddenSize());
        assertEquals(128, c.headDim());
        assertEquals(27, c.moeLayerEnd());
        assertEquals(500000.0, c.ropeTheta());
        assertEquals(1e-12f, c.moeNormMin());
        assertTrue(c.tieWordEmbeddings());
        assertFalse(c.useBias());
        assertEquals(3072, c.sharedIntermediateSize());
        assertFalse(c.isMoeLayer(0));
        assertTrue(c.isMoeLayer(1) && c.isMoeLayer(27));
        assertEquals(List.of(2), c.eosTokenIds());
    }

    @Test
    void headDimDefaultsToHiddenOverHeadsAndEndIndexMinusOneMeansLastLayer() throws Exception {
        ErnieConfig c = parse("{\"hidden_size\": 64, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"num_hidden_layers\": 3, \"moe_layer_end_index\": -1}");
        assertEquals(16, c.headDim());
        assertEquals(2, c.moeLayerEnd());
    }

    @Test
    void ropeThetaIsReadFromRopeParametersWhenOnlyThere() throws Exception {
        assertEquals(10000.0, parse("{\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 10000.0}}").ropeTheta());
    }

    @Test
    void aliasesOfTransformers5AreAccepted() throws Exception {
        ErnieConfig c = parse("{\"num_experts\": 8, \"num_experts_per_tok\": 2}");
        assertEquals(8, c.numExperts());
        assertEquals(2, c.expertsPerToken());
    }

    @Test
    void theBundledConfigMatchesItsDocumentedShape() {
        ErnieConfig c = ErnieConfig.load(TinyModel.dir());
        assertEquals(160, c.queryDim());
        assertEquals(32, c.kvDim());
        assertEquals(3, c.numMoeLayers());
    }

    @Test
    void ropeScalingIsRefusedNamingTheKey() {
        var e = assertThrows(ModelFormatException.class, () -> parse("{\"rope_scaling\": {\"type\": \"yarn\", \"factor\": 4}}"));
        assertTrue(e.getMessage().contains("'rope_scaling'"), e.getMessage());
        e = assertThrows(ModelFormatException.class, () -> parse("{\"rope_parameters\": {\"rope_type\": \"yarn\"}}"));
        assertTrue(e.getMessage().contains("rope_parameters.rope_type"), e.getMessage());
    }

    @Test
    void wrongTypesAndValuesAreRefusedNamingTheField() {
        var e = assertThrows(ModelFormatException.class, () -> parse("{\"hidden_size\": \"big\"}"));
        assertTrue(e.getMessage().contains("'hidden_size' must be an integer"), e.getMessage());
        e = assertThrows(ModelFormatException.class, () -> parse("{\"num_attention_heads\": 20, \"num_key_value_heads\": 3}"));
        assertTrue(e.getMessage().contains("num_key_value_heads"), e.getMessage());
        e = assertThrows(ModelFormatException.class, () -> parse("{\"moe_k\": 65}"));
        assertTrue(e.getMessage().contains("'moe_k'"), e.getMessage());
        e = assertThrows(ModelFormatException.class, () -> parse("{\"model_type\": \"llama\"}"));
        assertTrue(e.getMessage().contains("'model_type'"), e.getMessage());
        e = assertThrows(ModelFormatException.class, () -> parse("{\"hidden_act\": \"gelu\"}"));
        assertTrue(e.getMessage().contains("'hidden_act'"), e.getMessage());
    }

    @Test
    void unreadableConfigNamesTheFile() throws Exception {
        var dir = java.nio.file.Files.createTempDirectory("cfg");
        java.nio.file.Files.writeString(dir.resolve("config.json"), "{ broken");
        var e = assertThrows(ModelFormatException.class, () -> ErnieConfig.load(dir));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("invalid JSON"), e.getMessage());
    }
}
