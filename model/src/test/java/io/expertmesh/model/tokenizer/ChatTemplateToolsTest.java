package io.expertmesh.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.TinyModel;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The bundled template's tools branch, tool calls and tool results against renderings computed by
 * Python's Jinja2 the way transformers' apply_chat_template runs it (sandboxed environment,
 * trim_blocks, lstrip_blocks, tojson as json.dumps with ensure_ascii=False).
 */
class ChatTemplateToolsTest {
    private static final String WEATHER_TOOL = """
            {"type":"function","function":{"name":"get_weather","description":"Weather in a city, °C",
             "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}""";

    private static ChatTemplate template;

    @BeforeAll
    static void load() {
        template = ChatTemplate.load(TinyModel.dir());
    }

    @Test
    void toolsAssistantToolCallsAndToolResultsRenderAsJinja2RendersThem() throws Exception {
        JsonNode tool = Json.MAPPER.readTree(WEATHER_TOOL);
        List<ChatMessage> messages = List.of(
                new ChatMessage("system", "Be brief."),
                new ChatMessage("user", "Weather in Paris?"),
                new ChatMessage("assistant", "", List.of(
                        new ChatMessage.ToolCall("call_1", "get_weather", "{\"city\": \"Paris\"}"),
                        new ChatMessage.ToolCall("call_2", "get_weather", "{\"city\": \"Lyon\"}")), null),
                new ChatMessage("tool", "18", List.of(), "call_1"),
                new ChatMessage("tool", "21", List.of(), "call_2"));
        assertEquals("<|begin_of_sentence|>You may call one or more functions to assist with the user query. The functions are listed within <tools></tools>:\n<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather in a city, \u00b0C\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}\n</tools>\nTo call a function, write a JSON object with its name and arguments within <tool_call></tool_call>:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>\nBe brief.\nUser: Weather in Paris?\nAssistant: <tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lyon\"}}\n</tool_call><|end_of_sentence|>User: <tool_response>\n18\n</tool_response>\nUser: <tool_response>\n21\n</tool_response>\nAssistant: ", template.render(messages, List.of(tool), true));
    }

    @Test
    void anAssistantTurnWithTextAndACallPutsTheCallOnTheNextLine() {
        List<ChatMessage> messages = List.of(
                new ChatMessage("user", "Hi"),
                new ChatMessage("assistant", "Let me check.", List.of(new ChatMessage.ToolCall("c", "f", "{}")), null));
        assertEquals("<|begin_of_sentence|>User: Hi\nAssistant: Let me check.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call><|end_of_sentence|>", template.render(messages, List.of(), false));
    }

    @Test
    void withoutToolsThePromptHasNoToolsPreamble() {
        String prompt = template.render(List.of(new ChatMessage("user", "Hi")), List.of(), true);
        assertEquals("<|begin_of_sentence|>User: Hi\nAssistant: ", prompt);
        assertFalse(prompt.contains("<tools>"));
    }
}
