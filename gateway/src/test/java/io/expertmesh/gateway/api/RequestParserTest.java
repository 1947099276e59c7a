package io.expertmesh.gateway.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.gateway.api.BadBodies.BadBody;
import io.expertmesh.model.Json;
import io.expertmesh.model.guided.Guide;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.tokenizer.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class RequestParserTest {
    private static final String HI = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";

    static JsonNode json(String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(text, e);
        }
    }

    private static GenerationRequest chat(String fields) {
        return RequestParser.parse(Endpoint.CHAT, json("{" + HI + (fields.isEmpty() ? "" : "," + fields) + "}"));
    }

    private static GenerationRequest completion(String json) {
        return RequestParser.parse(Endpoint.COMPLETION, json(json));
    }

    static Stream<BadBody> badBodies() {
        return BadBodies.all().stream();
    }

    @Test
    void thereAreAtLeastFortyBadBodies() {
        assertTrue(BadBodies.all().size() >= 40, "only " + BadBodies.all().size());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badBodies")
    void badBodyIsA400NamingTheField(BadBody bad) {
        ApiException e = assertThrows(ApiException.class, () -> RequestParser.parse(bad.endpoint(), json(bad.json())));
        assertEquals(400, e.status());
        assertEquals("invalid_request_error", e.type());
        assertEquals(bad.param(), e.param(), e.getMessage());
        assertTrue(e.getMessage().contains(bad.fragment()), () -> "'" + e.getMessage() + "' lacks '" + bad.fragment() + "'");
    }

    @Test
    void longOffendingValuesAreCutInTheMessage() {
        String huge = "x".repeat(10_000);
        ApiException e = assertThrows(ApiException.class, () -> chat("\"temperature\":\"" + huge + "\""));
        assertTrue(e.getMessage().length() < 150, e.getMessage());
        assertTrue(e.getMessage().endsWith("..."), e.getMessage());
    }

    @Test
    void minimalChatRequestGetsTheDefaults() {
        GenerationRequest r = chat("");
        assertEquals(Endpoint.CHAT, r.endpoint());
        assertEquals(List.of(new ChatMessage("user", "hi")), r.messages());
        assertNull(r.promptText());
        assertNull(r.promptIds());
        assertNull(r.model());
        assertNull(r.maxTokens());
        assertEquals(0, r.minTokens());
        assertEquals(1f, r.temperature());
        assertEquals(1f, r.topP());
        assertEquals(0, r.topK());
        assertEquals(0f, r.minP());
        assertEquals(0f, r.presencePenalty());
        assertEquals(0f, r.frequencyPenalty());
        assertEquals(1f, r.repetitionPenalty());
        assertNull(r.seed());
        assertEquals(List.of(), r.stop());
        assertEquals(Set.of(), r.stopTokenIds());
        assertFalse(r.logprobs());
        assertEquals(0, r.topLogprobs());
        assertEquals(1, r.n());
        assertEquals(Map.of(), r.logitBias());
        assertFalse(r.echo());
        assertFalse(r.stream());
        assertFalse(r.includeUsage());
        assertNull(r.user());
    }

    @Test
    void everyChatFieldIsRead() {
        GenerationRequest r = RequestParser.parse(Endpoint.CHAT, json("""
                {"model":"ernie","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"},
                  {"role":"assistant","content":"hello"},{"role":"user","content":"more"}],
                 "max_tokens":100,"min_tokens":5,"temperature":0.7,"top_p":0.9,"top_k":40,"min_p":0.05,
                 "presence_penalty":0.5,"frequency_penalty":-0.5,"repetition_penalty":1.1,"seed":-9007199254740993,
                 "stop":["\\n\\n","END"],"stop_token_ids":[2,7],"n":3,"best_of":3,"logprobs":true,"top_logprobs":3,
                 "logit_bias":{"5":-100,"17":2.5},"stream":true,"stream_options":{"include_usage":true},"user":"u-1"}"""));
        assertEquals("ernie", r.model());
        assertEquals(List.of(new ChatMessage("system", "be brief"), new ChatMessage("user", "hi"),
                new ChatMessage("assistant", "hello"), new ChatMessage("user", "more")), r.messages());
        assertEquals(100, r.maxTokens());
        assertEquals(5, r.minTokens());
        assertEquals(0.7f, r.temperature());
        assertEquals(0.9f, r.topP());
        assertEquals(40, r.topK());
        assertEquals(0.05f, r.minP());
        assertEquals(0.5f, r.presencePenalty());
        assertEquals(-0.5f, r.frequencyPenalty());
        assertEquals(1.1f, r.repetitionPenalty());
        assertEquals(-9007199254740993L, r.seed());
        assertEquals(List.of("\n\n", "END"), r.stop());
        assertEquals(Set.of(2, 7), r.stopTokenIds());
        assertTrue(r.logprobs());
        assertEquals(3, r.topLogprobs());
        assertEquals(3, r.n());
        assertEquals(Map.of(5, -100f, 17, 2.5f), r.logitBias());
        assertTrue(r.stream());
        assertTrue(r.includeUsage());
        assertEquals("u-1", r.user());
    }

    @Test
    void nullMeansAbsentForOptionalFields() {
        GenerationRequest r = chat("""
                "model":null,"max_tokens":null,"min_tokens":null,"temperature":null,"top_p":null,"top_k":null,
                "min_p":null,"presence_penalty":null,"frequency_penalty":null,"repetition_penalty":null,"seed":null,
                "stop":null,"stop_token_ids":null,"n":null,"best_of":null,"logit_bias":null,"logprobs":null,"top_logprobs":null,"stream":null,
                "stream_options":null,"user":null,"tools":null,"tool_choice":null,"functions":null,"response_format":null""");
        assertEquals(chat(""), r); // equal records: no array field is set in a chat request
    }

    @Test
    void maxCompletionTokensIsAnAliasAndWinsOverMaxTokens() {
        assertEquals(64, chat("\"max_completion_tokens\":64").maxTokens());
        assertEquals(64, chat("\"max_tokens\":500,\"max_completion_tokens\":64").maxTokens());
        assertEquals(500, chat("\"max_tokens\":500,\"max_completion_tokens\":null").maxTokens());
    }

    @Test
    void unknownFieldsAreIgnored() {
        GenerationRequest r = chat("\"logit_bias_v2\":{\"1\":5},\"metadata\":{\"a\":[1,2]},\"store\":\"whatever\","
                + "\"temperature\":0");
        assertEquals(0f, r.temperature());
        assertEquals(List.of(new ChatMessage("user", "hi")), r.messages());
    }

    @Test
    void textPartsAreConcatenatedIntoOneContent() {
        GenerationRequest r = RequestParser.parse(Endpoint.CHAT, json("""
                {"messages":[{"role":"user","content":[{"type":"text","text":"Hello, "},{"type":"text","text":"world"}]}]}"""));
        assertEquals(List.of(new ChatMessage("user", "Hello, world")), r.messages());
    }

    @Test
    void assistantContentMayBeNullOrMissing() {
        GenerationRequest r = RequestParser.parse(Endpoint.CHAT, json("""
                {"messages":[{"role":"user","content":"a"},{"role":"assistant","content":null},
                             {"role":"assistant"},{"role":"user","content":"b","name":"bob"}]}"""));
        assertEquals(List.of(new ChatMessage("user", "a"), new ChatMessage("assistant", ""), new ChatMessage("assistant", ""),
                new ChatMessage("user", "b")), r.messages());
    }

    @Test
    void integralNumbersWrittenWithAFractionOrExponentAreIntegers() {
        GenerationRequest r = chat("\"max_tokens\":16.0,\"top_k\":4e1,\"seed\":9223372036854775807");
        assertEquals(16, r.maxTokens());
        assertEquals(40, r.topK());
        assertEquals(Long.MAX_VALUE, r.seed());
    }

    @Test
    void topKOfMinusOneOrZeroIsOff() {
        assertEquals(0, chat("\"top_k\":-1").topK());
        assertEquals(0, chat("\"top_k\":0").topK());
        assertEquals(1, chat("\"top_k\":1").topK());
    }

    @Test
    void rangeBoundsAreInclusiveWhereTheContractSaysSo() {
        GenerationRequest r = chat("\"temperature\":2,\"top_p\":1,\"min_p\":1,\"presence_penalty\":-2,"
                + "\"frequency_penalty\":2,\"repetition_penalty\":2,\"max_tokens\":1000000,\"min_tokens\":1000000");
        assertEquals(2f, r.temperature());
        assertEquals(1000000, r.maxTokens());
        assertEquals(1000000, r.minTokens());
        assertEquals(0f, chat("\"temperature\":0").temperature());
    }

    @Test
    void singleStopStringBecomesAList() {
        assertEquals(List.of("###"), chat("\"stop\":\"###\"").stop());
        assertEquals(List.of(), chat("\"stop\":[]").stop());
    }

    @Test
    void streamOptionsMayOmitIncludeUsage() {
        GenerationRequest r = chat("\"stream\":true,\"stream_options\":{}");
        assertTrue(r.stream());
        assertFalse(r.includeUsage());
    }

    @Test
    void logprobsWithoutTopLogprobsAsksForNoAlternatives() {
        GenerationRequest r = chat("\"logprobs\":true");
        assertTrue(r.logprobs());
        assertEquals(0, r.topLogprobs());
    }

    @Test
    void valuesThatAskForNoToolsOrFormatAreAccepted() {
        GenerationRequest r = chat("\"tools\":[],\"tool_choice\":\"none\",\"functions\":[],\"function_call\":\"none\","
                + "\"response_format\":{\"type\":\"text\"}");
        assertEquals(1, r.messages().size());
    }

    @Test
    void toolsDefaultToAutoAndANamedChoiceKeepsItsName() {
        String tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}},"
                + "{\"type\":\"function\",\"function\":{\"name\":\"get-time\"}}]";
        GenerationRequest auto = chat(tools);
        assertEquals(2, auto.tools().tools().size());
        assertEquals("get_weather", auto.tools().tools().get(0).at("/function/name").textValue());
        assertEquals(new ToolChoice.Auto(), auto.tools().choice());
        assertEquals(new ToolChoice.Required(), chat(tools.replace(",{\"type\":\"function\",\"function\":{\"name\":\"get-time\"}}", "")
                + ",\"tool_choice\":\"required\"").tools().choice());
        assertEquals(new ToolChoice.None(), chat(tools + ",\"tool_choice\":\"none\"").tools().choice());
        assertEquals(new ToolChoice.Named("get-time"), chat(tools + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get-time\"}}")
                .tools().choice());
        assertEquals(ToolRequest.NONE, chat("\"tool_choice\":\"auto\"").tools());
    }

    @Test
    void aForcingToolChoiceGuidesTheOutputToACallWithArgumentsOfTheToolsSchema() {
        String tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","
                + "\"properties\":{\"days\":{\"type\":\"integer\"}},\"required\":[\"days\"]}}},"
                + "{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}]";
        String weather = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"days\":3}}\n</tool_call>";
        String time = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\":\"UTC\"}}\n</tool_call>";
        Guide named = chat(tools + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}").guide();
        assertTrue(named.matches(weather));
        assertFalse(named.matches(weather.replace("3", "\"3\"")), "the arguments follow the schema");
        assertFalse(named.matches(time));
        Guide required = chat(tools + ",\"tool_choice\":\"required\"").guide();
        assertTrue(required.matches(weather));
        assertTrue(required.matches(time), "a tool without parameters takes any object");
        assertFalse(required.matches(""));
        assertNull(chat(tools).guide());
        assertNull(chat(tools + ",\"tool_choice\":\"none\"").guide());
    }

    @Test
    void aGuideIsCompiledOnTheGivenExecutorAndNotOnTheCallersThread() {
        List<Runnable> queued = new ArrayList<>();
        String schema = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"guided_json\":{\"type\":\"boolean\"}}";
        CompletableFuture<GenerationRequest> guided = RequestParser.parse(Endpoint.CHAT, json(schema), queued::add).toCompletableFuture();
        assertFalse(guided.isDone(), "the caller's thread does not compile");
        assertEquals(1, queued.size());
        queued.removeFirst().run();
        assertTrue(guided.join().guide().matches("true"));

        CompletableFuture<GenerationRequest> plain = RequestParser.parse(Endpoint.CHAT,
                json("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"), queued::add).toCompletableFuture();
        assertTrue(plain.isDone() && queued.isEmpty(), "a request without a guide needs no other thread");

        CompletableFuture<GenerationRequest> bad = RequestParser.parse(Endpoint.CHAT,
                json(schema.replace("\"boolean\"", "\"string\",\"format\":\"email\"")), queued::add).toCompletableFuture();
        queued.removeFirst().run();
        var failure = assertThrows(CompletionException.class, bad::join);
        assertEquals("guided_json", ((ApiException) failure.getCause()).param());
    }

    @Test
    void assistantToolCallsAndToolResultsComeBackAsChatMessages() {
        GenerationRequest r = RequestParser.parse(Endpoint.CHAT, json("""
                {"messages":[{"role":"user","content":"weather?"},
                  {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
                    "function":{"name":"get_weather","arguments":"{\\"city\\": \\"Paris\\"}"}}]},
                  {"role":"tool","tool_call_id":"call_1","content":"18"}]}"""));
        ChatMessage assistant = r.messages().get(1);
        assertEquals("", assistant.content());
        assertEquals(List.of(new ChatMessage.ToolCall("call_1", "get_weather", "{\"city\": \"Paris\"}")), assistant.toolCalls());
        assertEquals(new ChatMessage("tool", "18", List.of(), "call_1"), r.messages().get(2));
    }

    @Test
    void completionPromptMayBeTextTokenIdsOrOneOfEither() {
        GenerationRequest text = completion("{\"prompt\":\"Once upon\"}");
        assertEquals(Endpoint.COMPLETION, text.endpoint());
        assertEquals("Once upon", text.promptText());
        assertNull(text.promptIds());
        assertNull(text.messages());

        GenerationRequest ids = completion("{\"prompt\":[1,2,3]}");
        assertNull(ids.promptText());
        assertArrayEquals(new int[] {1, 2, 3}, ids.promptIds());

        assertEquals("Once", completion("{\"prompt\":[\"Once\"]}").promptText());
        assertArrayEquals(new int[] {0, 9}, completion("{\"prompt\":[[0,9]]}").promptIds());
    }

    @Test
    void completionLogprobsIsACountOfAlternatives() {
        GenerationRequest none = completion("{\"prompt\":\"a\",\"logprobs\":null}");
        assertFalse(none.logprobs());
        assertEquals(0, none.topLogprobs());
        GenerationRequest zero = completion("{\"prompt\":\"a\",\"logprobs\":0}");
        assertTrue(zero.logprobs());
        assertEquals(0, zero.topLogprobs());
        GenerationRequest five = completion("{\"prompt\":\"a\",\"logprobs\":5}");
        assertTrue(five.logprobs());
        assertEquals(5, five.topLogprobs());
    }

    @Test
    void completionEchoIsReadAndCompletionLogprobsAreACount() {
        assertTrue(completion("{\"prompt\":\"a\",\"echo\":true}").echo());
        GenerationRequest r = completion("{\"prompt\":\"a\",\"logprobs\":2}");
        assertTrue(r.logprobs());
        assertEquals(2, r.sampling(5, Set.of(), null).logprobs());
        assertEquals(0, completion("{\"prompt\":\"a\",\"logprobs\":0}").sampling(5, Set.of(), null).logprobs());
        assertEquals(SamplingParams.NO_LOGPROBS, completion("{\"prompt\":\"a\"}").sampling(5, Set.of(), null).logprobs());
    }

    @Test
    void echoWithLogprobsAsksForThePromptsLogprobsAndEitherAloneDoesNot() {
        GenerationRequest both = completion("{\"prompt\":\"a\",\"echo\":true,\"logprobs\":2}");
        assertTrue(both.promptLogprobs());
        assertEquals(2, both.sampling(5, Set.of(), null).logprobs());
        assertFalse(completion("{\"prompt\":\"a\",\"echo\":true}").promptLogprobs());
        assertFalse(completion("{\"prompt\":\"a\",\"logprobs\":2}").promptLogprobs());
    }

    @Test
    void completionAcceptsTheNeutralEchoAndSuffixAndIgnoresChatFields() {
        GenerationRequest r = completion("{\"prompt\":\"a\",\"echo\":false,\"suffix\":null,\"top_logprobs\":\"junk\","
                + "\"messages\":5,\"max_tokens\":7,\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertEquals(7, r.maxTokens());
        assertTrue(r.includeUsage());
        assertFalse(r.logprobs());
    }

    @Test
    void samplingCarriesEveryParameterAndMergesStopTokenIds() {
        GenerationRequest r = chat("""
                "max_tokens":100,"min_tokens":5,"temperature":0.7,"top_p":0.9,"top_k":40,"min_p":0.05,
                "presence_penalty":0.5,"frequency_penalty":-0.5,"repetition_penalty":1.1,"seed":42,
                "stop":["END"],"stop_token_ids":[7],"logit_bias":{"3":1.5},"logprobs":true,"top_logprobs":4""");
        SamplingParams p = r.sampling(100, Set.of(2), null);
        assertEquals(new SamplingParams(0.7f, 40, 0.9f, 0.05f, 1.1f, 0.5f, -0.5f, 42L, 100, 5, Set.of(2, 7),
                List.of("END"), Map.of(3, 1.5f), 4), p);
    }

    @Test
    void samplingOfADefaultRequestIsRandomWithNeutralFilters() {
        SamplingParams p = chat("").sampling(256, Set.of(2), null);
        assertEquals(new SamplingParams(1f, 0, 1f, 0f, 1f, 0f, 0f, null, 256, 0, Set.of(2), List.of(), Map.of(),
                SamplingParams.NO_LOGPROBS), p);
        assertFalse(p.isGreedy());
        assertTrue(chat("\"temperature\":0").sampling(1, Set.of(), null).isGreedy());
    }

    @Test
    void samplingCutsMinTokensToASmallerServerBudget() {
        SamplingParams p = chat("\"min_tokens\":50").sampling(10, Set.of(), null);
        assertEquals(10, p.maxNewTokens());
        assertEquals(10, p.minTokens());
    }

    @Test
    void parsedRecordsAreImmutable() {
        GenerationRequest r = chat("\"stop\":[\"a\"],\"stop_token_ids\":[1]");
        assertThrows(UnsupportedOperationException.class, () -> r.messages().add(new ChatMessage("user", "x")));
        assertThrows(UnsupportedOperationException.class, () -> r.stop().add("b"));
        assertThrows(UnsupportedOperationException.class, () -> r.stopTokenIds().add(3));
    }

    @Test
    void recordRejectsAChatRequestWithAPrompt() {
        assertThrows(IllegalArgumentException.class, () -> new GenerationRequest(Endpoint.CHAT, null,
                List.of(new ChatMessage("user", "x")), "prompt", null, null, 0, 1, 1, 0, 0, 0, 0, 1, null,
                List.of(), Set.of(), Map.of(), false, 0, 1, false, false, false, null, null, ToolRequest.NONE));
        assertThrows(IllegalArgumentException.class, () -> new GenerationRequest(Endpoint.COMPLETION, null,
                null, "prompt", new int[] {1}, null, 0, 1, 1, 0, 0, 0, 0, 1, null,
                List.of(), Set.of(), Map.of(), false, 0, 1, false, false, false, null, null, ToolRequest.NONE));
    }

    @Test
    void structuredOutputFieldsCompileToAGuide() {
        assertNull(chat("").guide());
        assertNull(chat("\"response_format\":{\"type\":\"text\"}").guide());
        assertTrue(chat("\"response_format\":{\"type\":\"json_object\"}").guide().matches("{\"a\":[1]}"));
        GenerationRequest schema = chat("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"n\",\"strict\":true,"
                + "\"schema\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"boolean\"}},\"required\":[\"x\"]}}}");
        assertTrue(schema.guide().matches("{\"x\":true}"));
        assertFalse(schema.guide().matches("{}"));
        assertTrue(chat("\"guided_json\":\"{\\\"enum\\\":[1,2]}\"").guide().matches("2"), "a schema given as a string");
        assertTrue(chat("\"guided_regex\":\"[0-9]{2}\"").guide().matches("42"));
        assertTrue(chat("\"guided_choice\":[\"up\",\"down\"]").guide().matches("down"));
    }
}
