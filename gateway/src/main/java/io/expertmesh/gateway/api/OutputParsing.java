package io.expertmesh.gateway.api;

/**
 * How a request's chat output is split: into reasoning and answer (the server's reasoning parser),
 * and tool calls out of the answer (the request has tools and does not say {@code tool_choice: none}).
 */
public record OutputParsing(boolean reasoning, boolean toolCalls) {
    public static final OutputParsing NONE = new OutputParsing(false, false);

    /** The parsing of {@code request}'s output when the server {@code parsesReasoning}. */
    public static OutputParsing of(GenerationRequest request, boolean parsesReasoning) {
        if (request.endpoint() != Endpoint.CHAT) return NONE;
        return new OutputParsing(parsesReasoning, request.tools().choice().parsesCalls());
    }

    public boolean active() {
        return reasoning || toolCalls;
    }

    /** A parser for one choice's output. */
    public ChatOutputParser parser() {
        return new ChatOutputParser(reasoning, toolCalls);
    }
}
