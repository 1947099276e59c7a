package io.expertmesh.loadtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StreamValidatorTest {
    private static final String HEAD = "{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion.chunk\",\"created\":1795815726,\"model\":\"tiny\",";

    static String chunk(String delta, String finish) {
        return HEAD + "\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"logprobs\":null,\"finish_reason\":"
                + (finish == null ? "null" : "\"" + finish + "\"") + "}]}";
    }

    static final String ROLE = chunk("{\"role\":\"assistant\",\"content\":\"\"}", null);
    static final String USAGE = HEAD + "\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}";

    /** The SSE events of a valid stream as Gatling renders them, without [DONE]. */
    static List<String> sseStream() {
        return List.of(ROLE, chunk("{\"content\":\"Hel\"}", null), chunk("{\"content\":\"lo\"}", null), chunk("{\"content\":\"!\"}", null),
                        chunk("{}", "length"), USAGE)
                .stream().map(c -> "{\"data\":" + c + "}").toList();
    }

    private static StreamValidator feedSse(List<String> events, boolean usage) {
        StreamValidator v = new StreamValidator(usage);
        long t = 1000;
        for (String e : events) {
            StreamValidator.Frame f = StreamValidator.parseSse(e);
            if (f.kind() == StreamValidator.Kind.CHUNK) v.accept(f.chunk(), t += 5);
            else v.fail(f.error());
        }
        return v;
    }

    @Test
    void acceptsAValidStream() {
        StreamValidator v = feedSse(sseStream(), true);
        assertNull(v.verdictCompleted());
        assertEquals(6, v.chunks());
        assertEquals(3, v.contentChunks());
        assertEquals(3, v.completionTokens());
        assertEquals("Hello!", v.text());
        assertEquals("length", v.finishReason());
        assertEquals(List.of(1010L, 1015L, 1020L), v.contentTimes());
    }

    @Test
    void recognisesDoneAndRoleChunks() {
        assertEquals(StreamValidator.Kind.DONE, StreamValidator.parseSse(StreamValidator.SSE_DONE).kind());
        assertTrue(StreamValidator.isRoleChunk(StreamValidator.parseSse("{\"data\":" + ROLE + "}").chunk()));
        assertFalse(StreamValidator.isRoleChunk(StreamValidator.parseSse(sseStream().get(1)).chunk()));
    }

    @Test
    void reportsBrokenStreams() {
        List<String> ok = sseStream();
        assertEquals("chunk 1: the first chunk's delta has no role 'assistant'", feedSse(ok.subList(1, ok.size()), true).verdictCompleted());
        assertEquals("the stream ended without the usage chunk", feedSse(ok.subList(0, 5), true).verdictCompleted());
        assertEquals("the stream ended without a finish_reason", feedSse(ok.subList(0, 4), false).verdictCompleted());
        assertTrue(feedSse(ok, false).verdictCompleted().contains("no choices although usage was not asked for"));
        String otherId = "{\"data\":" + chunk("{\"content\":\"x\"}", null).replace("chatcmpl-abc", "chatcmpl-zzz") + "}";
        assertTrue(feedSse(List.of(ok.get(0), otherId), true).verdictCompleted().contains("id changed"));
        String afterFinish = ok.get(1);
        assertTrue(feedSse(List.of(ok.get(0), ok.get(4), afterFinish), true).verdictCompleted().contains("after finish_reason"));
        String badUsage = "{\"data\":" + USAGE.replace("\"total_tokens\":15", "\"total_tokens\":16") + "}";
        assertTrue(feedSse(List.of(ok.get(0), ok.get(4), badUsage), true).verdictCompleted().contains("total_tokens"));
        String badFinish = "{\"data\":" + chunk("{}", "eos") + "}";
        assertTrue(feedSse(List.of(ok.get(0), badFinish), true).verdictCompleted().contains("not stop or length"));
        String error = "{\"data\":{\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"param\":null,\"code\":null}}}";
        assertTrue(feedSse(List.of(ok.get(0), error), true).verdictCompleted().startsWith("error event"));
        assertTrue(feedSse(List.of(ok.get(0), "{\"data\":\"text\"}"), true).verdictCompleted().contains("not a JSON object"));
    }

    @Test
    void parsesWebSocketFrames() {
        StreamValidator.Frame c = StreamValidator.parseWs("{\"id\":\"q1\",\"chunk\":" + ROLE + "}");
        assertEquals(StreamValidator.Kind.CHUNK, c.kind());
        assertEquals("q1", c.clientId());
        assertEquals(StreamValidator.Kind.DONE, StreamValidator.parseWs("{\"id\":\"q1\",\"done\":true}").kind());
        assertEquals(StreamValidator.Kind.CANCELLED, StreamValidator.parseWs("{\"id\":\"q1\",\"done\":true,\"cancelled\":true}").kind());
        StreamValidator.Frame e = StreamValidator.parseWs("{\"id\":null,\"error\":{\"message\":\"frame is not valid JSON\"}}");
        assertEquals(StreamValidator.Kind.ERROR, e.kind());
        assertNull(e.clientId());
        assertEquals(StreamValidator.Kind.ERROR, StreamValidator.parseWs("{\"id\":\"q1\",\"done\":false}").kind());
        assertEquals(StreamValidator.Kind.ERROR, StreamValidator.parseWs("not json").kind());
    }

    @Test
    void reportsMalformedJsonAsAFailedFrame() {
        for (String bad : List.of("", "{", "{\"a\":1,}", "[1 2]", "{\"a\":1}x", "{\"a\":01}", "[DONE]", "{\"a\":1,\"a\":2}", "\"\\x\"",
                "null", "[]", "\"text\"", "{\"a\":NaN}", "{'a':1}")) {
            StreamValidator.Frame sse = StreamValidator.parseSse(bad);
            assertEquals(StreamValidator.Kind.ERROR, sse.kind(), bad);
            assertTrue(sse.error().startsWith("SSE event is not JSON"), sse.error());
            StreamValidator.Frame ws = StreamValidator.parseWs(bad);
            assertEquals(StreamValidator.Kind.ERROR, ws.kind(), bad);
            assertTrue(ws.error().startsWith("frame is not JSON"), ws.error());
        }
        String twice = "{\"data\":" + ROLE.replace("\"model\":\"tiny\",", "\"model\":\"tiny\",\"model\":\"tiny\",") + "}";
        assertTrue(feedSse(List.of(twice), true).verdictCompleted().startsWith("SSE event is not JSON"));
    }

    @Test
    void readsIntegersAsTheContractAsksAndRefusesOtherNumbers() {
        StreamValidator.Frame f = StreamValidator.parseSse("{\"data\":" + ROLE + "}");
        assertEquals(1795815726L, f.chunk().get("created"));
        String fractional = "{\"data\":" + ROLE.replace("1795815726", "1795815726.5") + "}";
        assertEquals("chunk 1: created is not an integer", feedSse(List.of(fractional), true).verdictCompleted());
        String index = "{\"data\":" + ROLE.replace("\"index\":0", "\"index\":0.0") + "}";
        assertEquals("chunk 1: choice index is not 0", feedSse(List.of(index), true).verdictCompleted());
    }

    @Test
    void aCancelledRequestNeedsOnlyValidChunks() {
        StreamValidator v = new StreamValidator(false);
        for (String frame : List.of(ROLE, chunk("{\"content\":\"Hi\"}", null))) {
            Map<String, Object> chunk = StreamValidator.parseWs("{\"id\":\"q\",\"chunk\":" + frame + "}").chunk();
            assertTrue(v.accept(chunk, 0));
        }
        assertNull(v.verdictCancelled());
        assertEquals("the stream ended without a finish_reason", v.verdictCompleted());
    }
}
