package io.expertmesh.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
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

/**
 * The model's own Jinja chat template ({@code chat_template.jinja}, or {@code chat_template} inside
 * tokenizer_config.json) rendered with Jinjava, the way transformers' {@code apply_chat_template}
 * does: trim_blocks and lstrip_blocks on; {@code messages}, {@code add_generation_prompt} and the
 * special tokens of tokenizer_config.json ({@code bos_token}, {@code cls_token}, ...) as variables.
 */
public final class ChatTemplate {
    private final String template;
    private final Map<String, String> specialTokens;
    private final Jinjava jinjava;

    ChatTemplate(String template, Map<String, String> specialTokens) {
        this.template = template;
        this.specialTokens = specialTokens;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build());
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
    }

    public static ChatTemplate load(Path modelDir) {
        Path configFile = modelDir.resolve("tokenizer_config.json");
        JsonNode config = Files.exists(configFile) ? Json.readTree(configFile) : Json.MAPPER.createObjectNode();
        Path jinjaFile = modelDir.resolve("chat_template.jinja");
        String template;
        if (Files.exists(jinjaFile)) {
            try {
                template = Files.readString(jinjaFile);
            } catch (IOException e) {
                throw new ModelFormatException(jinjaFile + ": cannot read: " + e.getMessage(), e);
            }
        } else {
            template = templateFromConfig(config.get("chat_template"), configFile);
        }
        Map<String, String> tokens = new LinkedHashMap<>();
        for (var e : config.properties()) {
            if (!e.getKey().endsWith("_token")) continue;
            JsonNode v = e.getValue();
            if (v.isTextual()) tokens.put(e.getKey(), v.asText());
            else if (v.isObject() && v.path("content").isTextual()) tokens.put(e.getKey(), v.get("content").asText());
        }
        return new ChatTemplate(template, tokens);
    }

    private static String templateFromConfig(JsonNode node, Path configFile) {
        if (node == null || node.isNull()) {
            throw new ModelFormatException(configFile.getParent() + ": no chat template (neither chat_template.jinja nor "
                    + "'chat_template' in tokenizer_config.json)");
        }
        if (node.isTextual()) return node.asText();
        if (node.isArray()) {
            for (JsonNode named : node) {
                if ("default".equals(named.path("name").asText())) return named.path("template").asText();
            }
        }
        throw new ModelFormatException(configFile + ": field 'chat_template' has no usable template");
    }

    /** The prompt text for {@code messages}; ends with the assistant's cue when {@code addGenerationPrompt}. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new HashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> bindings = new HashMap<>(specialTokens);
        bindings.put("messages", msgs);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result = jinjava.renderForResult(template, bindings);
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException("chat template: " + error.getMessage());
            }
        }
        return result.getOutput();
    }

    /** Called by templates to reject a conversation they cannot format. */
    public static String raiseException(String message) {
        throw new IllegalArgumentException(message);
    }
}
