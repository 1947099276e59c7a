package io.expertmesh.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import io.expertmesh.model.Json;
import io.expertmesh.model.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The model's own Jinja chat template ({@code chat_template.jinja}, or {@code chat_template} inside
 * tokenizer_config.json) rendered with Jinjava, the way transformers' {@code apply_chat_template}
 * does: trim_blocks and lstrip_blocks on; {@code messages}, {@code add_generation_prompt} and the
 * special tokens of tokenizer_config.json ({@code bos_token}, {@code cls_token}, ...) as variables;
 * {@code tools} when the request offers some; {@code tojson} as Python's {@code json.dumps}; and
 * {@code -} inside expression tags trimming whitespace as Jinja2 does.
 */
public final class ChatTemplate {
    private final String template;
    private final Map<String, String> specialTokens;
    private final Jinjava jinjava;

    ChatTemplate(String template, Map<String, String> specialTokens) {
        this.template = template;
        this.specialTokens = specialTokens;
        // Jinjava applies {{- and -}} only when told to; Jinja2, which templates are written for, always does.
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withLegacyOverrides(LegacyOverrides.newBuilder().withUseTrimmingForNotesAndExpressions(true).build()).build());
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFilter(new PythonToJsonFilter());
    }

    public static ChatTemplate load(Path modelDir) {
        JsonNode config = tokenizerConfig(modelDir);
        String template = templateText(modelDir, config).orElseThrow(() -> new ModelFormatException(modelDir
                + ": no chat template (neither chat_template.jinja nor 'chat_template' in tokenizer_config.json)"));
        Map<String, String> tokens = new LinkedHashMap<>();
        for (var e : config.properties()) {
            if (!e.getKey().endsWith("_token")) continue;
            JsonNode v = e.getValue();
            if (v.isTextual()) tokens.put(e.getKey(), v.asText());
            else if (v.isObject() && v.path("content").isTextual()) tokens.put(e.getKey(), v.get("content").asText());
        }
        return new ChatTemplate(template, tokens);
    }

    /** The template text of a model directory, as {@link #load} finds it; empty when it has none. */
    static Optional<String> templateText(Path modelDir) {
        return templateText(modelDir, tokenizerConfig(modelDir));
    }

    private static JsonNode tokenizerConfig(Path modelDir) {
        Path configFile = modelDir.resolve("tokenizer_config.json");
        return Files.exists(configFile) ? Json.readTree(configFile) : Json.MAPPER.createObjectNode();
    }

    private static Optional<String> templateText(Path modelDir, JsonNode config) {
        Path jinjaFile = modelDir.resolve("chat_template.jinja");
        if (Files.exists(jinjaFile)) {
            try {
                return Optional.of(Files.readString(jinjaFile));
            } catch (IOException e) {
                throw new ModelFormatException(jinjaFile + ": cannot read: " + e.getMessage(), e);
            }
        }
        JsonNode node = config.get("chat_template");
        if (node == null || node.isNull()) return Optional.empty();
        if (node.isTextual()) return Optional.of(node.asText());
        if (node.isArray()) {
            for (JsonNode named : node) {
                if ("default".equals(named.path("name").asText())) return Optional.of(named.path("template").asText());
            }
        }
        throw new ModelFormatException(modelDir.resolve("tokenizer_config.json") + ": field 'chat_template' has no usable template");
    }

    /** The prompt text for {@code messages}; ends with the assistant's cue when {@code addGenerationPrompt}. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, List.of(), addGenerationPrompt);
    }

    /**
     * The prompt text for {@code messages} offering {@code tools} (OpenAI tool objects,
     * {@code {"type":"function","function":{...}}}); the template sees no {@code tools} variable
     * when there are none, as transformers passes {@code tools=None}.
     */
    public String render(List<ChatMessage> messages, List<JsonNode> tools, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new HashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            if (!m.toolCalls().isEmpty()) map.put("tool_calls", toolCalls(m.toolCalls()));
            if (m.toolCallId() != null) map.put("tool_call_id", m.toolCallId());
            msgs.add(map);
        }
        Map<String, Object> bindings = new HashMap<>(specialTokens);
        bindings.put("messages", msgs);
        if (!tools.isEmpty()) bindings.put("tools", tools.stream().map(t -> Json.MAPPER.convertValue(t, Object.class)).toList());
        bindings.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result = jinjava.renderForResult(template, bindings);
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException("chat template: " + error.getMessage());
            }
        }
        return result.getOutput();
    }

    /** The OpenAI shape templates expect: {@code {"id", "type": "function", "function": {"name", "arguments"}}}. */
    private static List<Map<String, Object>> toolCalls(List<ChatMessage.ToolCall> calls) {
        List<Map<String, Object>> list = new ArrayList<>(calls.size());
        for (ChatMessage.ToolCall c : calls) {
            Map<String, Object> function = new LinkedHashMap<>();
            function.put("name", c.name());
            function.put("arguments", c.arguments());
            Map<String, Object> call = new LinkedHashMap<>();
            call.put("id", c.id());
            call.put("type", "function");
            call.put("function", function);
            list.add(call);
        }
        return list;
    }

    /** Called by templates to reject a conversation they cannot format. */
    public static String raiseException(String message) {
        throw new IllegalArgumentException(message);
    }
}
