package io.expertmesh.model.tokenizer;

import java.util.List;
import java.util.Objects;

/**
 * One turn of a conversation: role (system, user, assistant, tool) and its text. An assistant turn
 * may carry the tool calls it made; a tool turn names the call it answers in {@code toolCallId}.
 *
 * @param toolCalls  the assistant's tool calls, in order; empty for other roles
 * @param toolCallId the id of the call a {@code tool} message answers; null for other roles
 */
public record ChatMessage(String role, String content, List<ToolCall> toolCalls, String toolCallId) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        toolCalls = List.copyOf(toolCalls);
    }

    public ChatMessage(String role, String content) {
        this(role, content, List.of(), null);
    }

    /**
     * A function call the assistant made.
     *
     * @param arguments the arguments as the JSON text the model wrote (OpenAI's {@code function.arguments})
     */
    public record ToolCall(String id, String name, String arguments) {
        public ToolCall {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(arguments, "arguments");
        }
    }
}
