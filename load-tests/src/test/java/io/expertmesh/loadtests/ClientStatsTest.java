package io.expertmesh.loadtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClientStatsTest {
    @Test
    void readsBackWhatItWrote(@TempDir Path dir) throws IOException {
        ClientStats c = new ClientStats();
        c.params.put("describe", "a \"quoted\" run\n");
        c.params.put("ttftP99Ms", 1500L);
        c.started("sse", 1000);
        c.started("ws", 1001);
        c.finished("sse", 1400, null, false, 120, 30, List.of(1100L, 1104L, 1110L));
        c.finished("ws", 1500, "error frame: {\"id\":\"u1-0\"}", true, 90, 3, List.of(1200L));
        Path file = dir.resolve("stats/client.json");
        c.write(file);

        ClientStats back = ClientStats.read(file);
        assertEquals("a \"quoted\" run\n", back.params.get("describe"));
        assertEquals(1500L, ((Number) back.params.get("ttftP99Ms")).longValue());
        assertEquals(500, back.windowMs());
        assertEquals(1, back.sse.ok.get());
        assertEquals(30, back.sse.tokens.get());
        assertEquals(2, back.sse.gaps.count());
        assertEquals(6, back.sse.gaps.max());
        assertEquals(120, back.sse.ttft.percentile(50));
        assertEquals(1, back.ws.ko.get());
        assertEquals(1, back.ws.cancelled.get());
        assertEquals(Map.of("error frame: {\"id\":\"u1-0\"}", 1L), back.ws.errors());
        assertEquals(c.toJson(), back.toJson());
    }

    @Test
    void refusesAFileThatIsNotAJsonObject(@TempDir Path dir) throws IOException {
        for (String text : List.of("null", "[1]", "{\"sse\":", "{} {}")) {
            Path file = Files.writeString(dir.resolve("bad.json"), text);
            assertThrows(IOException.class, () -> ClientStats.read(file), text);
        }
    }
}
