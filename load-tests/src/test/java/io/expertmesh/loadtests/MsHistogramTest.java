package io.expertmesh.loadtests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.expertmesh.model.Json;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MsHistogramTest {
    @Test
    void nearestRankPercentiles() {
        MsHistogram h = new MsHistogram();
        assertEquals(-1, h.percentile(50));
        for (int i = 1; i <= 100; i++) h.add(i);
        assertEquals(100, h.count());
        assertEquals(50, h.percentile(50));
        assertEquals(95, h.percentile(95));
        assertEquals(99, h.percentile(99));
        assertEquals(100, h.percentile(100));
        assertEquals(1, h.percentile(0));
        assertEquals(100, h.max());
        assertEquals(50.5, h.mean(), 1e-9);
    }

    @Test
    void roundTripsThroughJson() throws Exception {
        MsHistogram h = new MsHistogram();
        h.add(3);
        h.add(3);
        h.add(700);
        String json = Json.write(h.toJson());
        assertEquals("{\"3\":2,\"700\":1}", json);
        MsHistogram back = MsHistogram.fromJson(Json.MAPPER.readValue(json, Map.class));
        assertEquals(3, back.count());
        assertEquals(3, back.percentile(50));
        assertEquals(700, back.max());
    }
}
