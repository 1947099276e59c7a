package io.expertmesh.loadtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void parsesWhatTheServerSends() {
        Map<String, Object> m = Json.parseObject(
                "{\"id\":\"chatcmpl-1\",\"created\":1795815726,\"x\":-1.5e2,\"choices\":[{\"delta\":{\"content\":\"a\\\"b\\u00e9\\n\"},\"logprobs\":null}],\"ok\":true}");
        assertEquals("chatcmpl-1", m.get("id"));
        assertEquals(1795815726L, m.get("created"));
        assertEquals(-150.0, m.get("x"));
        assertEquals(Boolean.TRUE, m.get("ok"));
        Map<?, ?> choice = (Map<?, ?>) ((List<?>) m.get("choices")).getFirst();
        assertEquals("a\"b\u00e9\n", ((Map<?, ?>) choice.get("delta")).get("content"));
        assertNull(choice.get("logprobs"));
        assertEquals(true, choice.containsKey("logprobs"));
    }

    @Test
    void refusesBrokenJson() {
        for (String bad : List.of("", "{", "{\"a\":1,}", "[1 2]", "{\"a\":1}x", "{\"a\":01}", "[DONE]", "{\"a\":1,\"a\":2}", "\"\\x\"")) {
            assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
        }
    }

    @Test
    void writesAndReadsBack() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "q\"\\\n\u0001");
        m.put("n", 3L);
        m.put("d", 0.25);
        m.put("l", List.of(1L, "two", Map.of()));
        m.put("z", null);
        String text = Json.write(m);
        assertEquals("{\"s\":\"q\\\"\\\\\\n\\u0001\",\"n\":3,\"d\":0.25,\"l\":[1,\"two\",{}],\"z\":null}", text);
        assertEquals(m, Json.parse(text));
    }
}
