package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.gateway.api.ChatOutputParser;
import io.expertmesh.gateway.api.ParsedOutput;
import io.expertmesh.kvstore.PooledSequences;
import io.expertmesh.model.Json;
import io.expertmesh.model.generate.Generation;
import io.expertmesh.model.generate.Generator;
import io.expertmesh.model.generate.StopTokens;
import io.expertmesh.model.guided.Guide;
import io.expertmesh.model.guided.GuideSpec;
import io.expertmesh.model.guided.TokenVocabulary;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.tokenizer.ChatMessage;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Tool calls through the real server on the tiny model: a forcing tool_choice guides the output to
 * a call whose arguments follow the tool's schema, the stream turns it into tool_calls deltas, and
 * the call sent back renders through the template. The tiny model is random, so valid arguments
 * come from the guide alone.
 */
class ServeToolCallsTest {
    private static final String TOOLS = """
            [{"type":"function","function":{"name":"get_weather","description":"Current weather",
              "parameters":{"type":"object","properties":{"days":{"type":"integer","minimum":1,"maximum":14},
                "unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["days","unit"]}}},
             {"type":"function","function":{"name":"get_time",
              "parameters":{"type":"object","properties":{"zone":{"enum":["UTC","CET"]}},"required":["zone"]}}}]""";
    private static final String PREFIX = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ";
    private static final String CLOSING = "}\n</tool_call>";
    /** More than the longest call the guide allows (each token is at least one byte), so every call completes. */
    private static final int MAX_TOKENS = 160;

    private static TestServer server;
    private static ReferenceGenerator reference;

    @BeforeAll
    static void start() {
        server = TestServer.start("");
        reference = new ReferenceGenerator();
    }

    @AfterAll
    static void stop() {
        server.close();
        reference.close();
    }

    private static ObjectNode namedToolChoiceBody(boolean stream) throws Exception {
        ObjectNode body = TestServer.chatBody("What is the weather in Paris?", MAX_TOKENS, stream);
        body.set("tools", Json.MAPPER.readTree(TOOLS));
        body.set("tool_choice", Json.MAPPER.readTree("{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}"));
        return body;
    }

    /** What the generator writes for the same prompt guided to a get_weather call, greedy. */
    private static Generation guidedReference() throws Exception {
        List<JsonNode> tools = new ArrayList<>();
        Json.MAPPER.readTree(TOOLS).forEach(tools::add);
        String prompt = reference.template.render(List.of(new ChatMessage("user", "What is the weather in Paris?")), tools, true);
        Guide call = Guide.compile(new GuideSpec.Framed(PREFIX, new GuideSpec.JsonSchema(tools.getFirst().at("/function/parameters")), CLOSING));
        var params = SamplingParams.greedy(MAX_TOKENS, StopTokens.defaults(reference.model.config(), reference.tokenizer))
                .withGuide(call.over(TokenVocabulary.of(reference.tokenizer)));
        return new Generator(PooledSequences.onHeap(reference.model.model()), reference.tokenizer).generate(reference.tokenizer.encode(prompt), params, text -> {});
    }

    /** Whether {@code arguments} is a JSON object that the tool's schema in {@link #TOOLS} allows. */
    private static void assertValidArguments(String tool, String arguments) throws Exception {
        JsonNode args = Json.MAPPER.readTree(arguments);
        assertTrue(args.isObject(), arguments);
        switch (tool) {
            case "get_weather" -> {
                assertEquals(2, args.size(), arguments);
                assertTrue(args.path("days").isInt() && args.get("days").asInt() >= 1 && args.get("days").asInt() <= 14, arguments);
                assertTrue(List.of("celsius", "fahrenheit").contains(args.path("unit").asText("")), arguments);
            }
            case "get_time" -> {
                assertEquals(1, args.size(), arguments);
                assertTrue(List.of("UTC", "CET").contains(args.path("zone").asText("")), arguments);
            }
            default -> throw new AssertionError("a call to an unknown tool: " + tool);
        }
    }

    /** The tool_calls of a stream's chunks (all but the last, [DONE]): its one call's start and its arguments. */
    private static JsonNode streamedCall(List<JsonNode> chunks) {
        StringBuilder arguments = new StringBuilder();
        List<JsonNode> starts = new ArrayList<>();
        for (JsonNode c : chunks) {
            JsonNode delta = c.path("choices").path(0).path("delta");
            assertTrue(!delta.has("content") || delta.get("content").asText().isEmpty(), "no text outside the call: " + c);
            for (JsonNode call : delta.path("tool_calls")) {
                assertEquals(0, call.path("index").asInt());
                if (call.has("id")) starts.add(call);
                arguments.append(call.path("function").path("arguments").asText());
            }
        }
        assertEquals(1, starts.size(), "one call starts: " + chunks);
        assertTrue(starts.getFirst().path("id").asText().startsWith("call_"));
        assertEquals("function", starts.getFirst().path("type").asText());
        ObjectNode call = Json.MAPPER.createObjectNode().put("name", starts.getFirst().path("function").path("name").asText());
        return call.put("arguments", arguments.toString());
    }

    @Test
    void aNamedToolChoiceStreamsACallWhoseArgumentsFollowTheToolsSchema() throws Exception {
        Generation expected = guidedReference();
        ChatOutputParser parser = new ChatOutputParser(false, true);
        ParsedOutput parsed = new ParsedOutput().add(parser.feed(expected.text())).add(parser.finish());
        String expectedArguments = parsed.toolCalls().getFirst().arguments();
        assertEquals(PREFIX + expectedArguments + CLOSING, expected.text(), "the whole output is the call");

        HttpResponse<String> r = server.post("/v1/chat/completions", namedToolChoiceBody(true).toString());
        assertEquals(200, r.statusCode(), r.body());
        List<JsonNode> chunks = TestServer.events(r);
        chunks = chunks.subList(0, chunks.size() - 1);
        JsonNode call = streamedCall(chunks);
        assertEquals("get_weather", call.path("name").asText());
        assertEquals(expectedArguments, call.path("arguments").asText());
        assertValidArguments("get_weather", call.path("arguments").asText());
        assertEquals("tool_calls", chunks.getLast().path("choices").path(0).path("finish_reason").asText());
    }

    @Test
    void requiredAmongTwoToolsCallsOneOfThemWithArgumentsOfItsSchema() throws Exception {
        ObjectNode body = namedToolChoiceBody(true).put("tool_choice", "required");
        for (long seed = 1; seed <= 4; seed++) {
            body.put("temperature", 1.0).put("seed", seed);
            HttpResponse<String> r = server.post("/v1/chat/completions", body.toString());
            assertEquals(200, r.statusCode(), r.body());
            List<JsonNode> chunks = TestServer.events(r);
            chunks = chunks.subList(0, chunks.size() - 1);
            JsonNode call = streamedCall(chunks);
            assertValidArguments(call.path("name").asText(), call.path("arguments").asText());
            assertEquals("tool_calls", chunks.getLast().path("choices").path(0).path("finish_reason").asText());
        }
    }
    @Test
    void theWebSocketStreamsTheSameToolCallDeltasAsSse() throws Exception {
        HttpResponse<String> sse = server.post("/v1/chat/completions", namedToolChoiceBody(true).toString());
        List<JsonNode> sseChunks = TestServer.events(sse);
        try (TestServer.WsClient ws = server.websocket()) {
            ObjectNode frame = Json.MAPPER.createObjectNode().put("type", "chat.completions").put("id", "t1");
            frame.set("body", namedToolChoiceBody(true));
            ws.send(frame.toString());
            List<JsonNode> frames = ws.until("t1", new ArrayList<>());
            List<JsonNode> wsChunks = frames.stream().filter(f -> f.has("chunk")).map(f -> f.get("chunk")).toList();
            assertEquals(deltas(sseChunks.subList(0, sseChunks.size() - 1)), deltas(wsChunks));
        }
    }

    /** Each chunk's delta and finish reason, without the call id, which is random per request. */
    private static List<String> deltas(List<JsonNode> chunks) {
        return chunks.stream().map(c -> {
            JsonNode choice = c.path("choices").path(0).deepCopy();
            for (JsonNode call : choice.path("delta").path("tool_calls")) ((ObjectNode) call).remove("id");
            return choice.path("delta") + " " + choice.path("finish_reason");
        }).toList();
    }

    @Test
    void theWholeResponseCarriesTheSameCallInTheMessage() throws Exception {
        HttpResponse<String> r = server.post("/v1/chat/completions", namedToolChoiceBody(false).toString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode message = Json.MAPPER.readTree(r.body()).path("choices").path(0).path("message");
        assertTrue(message.path("content").isNull(), message.toString());
        JsonNode call = message.path("tool_calls").path(0);
        assertEquals("get_weather", call.path("function").path("name").asText());
        assertEquals(guidedReference().text(), PREFIX + call.path("function").path("arguments").asText() + CLOSING);
    }

    @Test
    void aToolCallAndItsResultSentBackRenderThroughTheTemplate() throws Exception {
        ObjectNode body = (ObjectNode) Json.MAPPER.readTree("""
                {"max_tokens":2,"temperature":0,"tools":%s,"messages":[
                  {"role":"user","content":"What is the weather in Paris?"},
                  {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
                    "function":{"name":"get_weather","arguments":"{\\"city\\": \\"Paris\\"}"}}]},
                  {"role":"tool","tool_call_id":"call_1","content":"18 degrees"}]}""".formatted(TOOLS));
        HttpResponse<String> r = server.post("/v1/chat/completions", body.toString());
        assertEquals(200, r.statusCode(), r.body());
        List<JsonNode> tools = new ArrayList<>();
        Json.MAPPER.readTree(TOOLS).forEach(tools::add);
        String prompt = reference.template.render(List.of(
                new ChatMessage("user", "What is the weather in Paris?"),
                new ChatMessage("assistant", "", List.of(new ChatMessage.ToolCall("call_1", "get_weather", "{\"city\": \"Paris\"}")), null),
                new ChatMessage("tool", "18 degrees", List.of(), "call_1")), tools, true);
        assertTrue(prompt.contains("Assistant: <tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
                + "<|end_of_sentence|>User: <tool_response>\n18 degrees\n</tool_response>\nAssistant: "), prompt);
        assertEquals(reference.tokenizer.encode(prompt).length,
                Json.MAPPER.readTree(r.body()).path("usage").path("prompt_tokens").asInt(), "the server's prompt is this rendering");
    }
}
