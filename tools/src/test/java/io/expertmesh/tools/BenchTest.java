package io.expertmesh.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.TinyModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class BenchTest {
    @Test
    void reportsThroughputBesideTheMachinesBandwidthForTheTinyModel() throws Exception {
        var out = new ByteArrayOutputStream();
        Bench.run(new String[] {"--prompt-len", "16", "--gen", "4", "--rounds", "2", "--threads", "2", "--json"}, TinyModel.dir(),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream()));
        JsonNode report = Json.MAPPER.readTree(out.toString(StandardCharsets.UTF_8));
        assertEquals(2, report.get("per_round").size());
        for (String field : new String[] {"prefill_tok_s", "decode_tok_s", "weight_bytes_per_decode_token", "machine_read_gb_s",
                "machine_copy_gb_s"}) {
            assertTrue(report.get(field).asDouble() > 0, field + " = " + report.get(field));
        }
        for (JsonNode round : report.get("per_round")) {
            assertTrue(round.get("decodeTokS").asDouble() > 0 && round.get("readGBs").asDouble() > 0, round.toString());
        }
    }
}
