package io.expertmesh.gateway.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.tokenizer.ChatMessage;
import java.util.List;

/**
 * A validated {@code POST /tokenize} body (vLLM's names): either {@code prompt}, a text to tokenize
 * as is, or {@code messages}, a conversation to render with the chat template first (same rules as
 * chat completions) and end with the assistant's cue when {@code add_generation_prompt} (default
 * true). Exactly one of {@code prompt} and {@code messages} is non-null; {@code tools}, checked as
 * for chat completions, go to the template with the messages.
 *
 * @param model the model the client named, or null; the caller checks it
 */
public record TokenizeRequest(String model, String prompt, List<ChatMessage> messages, boolean addGenerationPrompt, List<JsonNode> tools) {

    public TokenizeRequest {
        if ((prompt == null) == (messages == null)) {
            throw new IllegalArgumentException("exactly one of prompt and messages must be given");
        }
        if (messages != null) messages = List.copyOf(messages);
        tools = List.copyOf(tools);
    }

    /** Validates a tokenize body; a 400 {@link ApiException} names the field at fault. */
    public static TokenizeRequest parse(JsonNode body) {
        JsonFields f = JsonFields.ofBody(body);
        String model = f.string("model");
        boolean hasPrompt = f.get("prompt") != null;
        boolean hasMessages = f.get("messages") != null;
        if (hasPrompt == hasMessages) {
            throw ApiException.badRequest("give exactly one of 'prompt' (a string) and 'messages' (an array)",
                    hasPrompt ? "messages" : "prompt");
        }
        boolean addGenerationPrompt = f.bool("add_generation_prompt", true);
        if (hasPrompt) return new TokenizeRequest(model, f.string("prompt"), null, addGenerationPrompt, List.of());
        return new TokenizeRequest(model, null, RequestParser.messages(f), addGenerationPrompt, ToolRequest.tools(f));
    }
}
