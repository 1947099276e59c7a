package io.expertmesh.model.generate;

/**
 * Why a generation ended: a stop token or stop string ({@code STOP}) or the token limit
 * ({@code LENGTH}); the chat API reports a stop after tool calls as {@code TOOL_CALLS}.
 */
public enum FinishReason {
    STOP,
    LENGTH,
    TOOL_CALLS;

    /** The OpenAI API's spelling. */
    public String apiName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
