package io.expertmesh.gateway.api;

import java.util.Objects;

/** A chat request's {@code tool_choice}: whether, and which, tool the model must call. */
public sealed interface ToolChoice {
    /** {@code "none"}: the output is plain text; a {@code <tool_call>} in it stays text. */
    record None() implements ToolChoice {}

    /** {@code "auto"}: the model may call any of the tools; its calls are parsed out of the text. */
    record Auto() implements ToolChoice {}

    /** {@code "required"}: the model must call at least one tool. */
    record Required() implements ToolChoice {}

    /** {@code {"type":"function","function":{"name":NAME}}}: the model must call this tool. */
    record Named(String name) implements ToolChoice {
        public Named {
            Objects.requireNonNull(name, "name");
        }
    }

    /** Whether tool calls in the output are parsed into {@code tool_calls}. */
    default boolean parsesCalls() {
        return !(this instanceof None);
    }
}
