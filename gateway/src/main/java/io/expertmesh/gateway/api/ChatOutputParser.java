package io.expertmesh.gateway.api;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits one chat choice's output, as it streams, into {@link OutputPiece}s: reasoning (when the
 * server runs a reasoning parser), answer text, and tool calls (when the request lets the model call
 * tools). The same parser serves streamed and whole responses, so both split the text alike.
 */
public final class ChatOutputParser {
    private final ReasoningParser reasoning;
    private final ToolCallParser toolCalls;

    /**
     * @param reasoning whether to split reasoning from the answer ({@code --reasoning-parser ernie45})
     * @param toolCalls whether to parse tool calls out of the answer (the request has tools and a choice other than none)
     */
    public ChatOutputParser(boolean reasoning, boolean toolCalls) {
        this.reasoning = reasoning ? new ReasoningParser() : null;
        this.toolCalls = toolCalls ? new ToolCallParser() : null;
    }

    /** The pieces {@code text}, the choice's next text, completes. */
    public List<OutputPiece> feed(String text) {
        if (reasoning == null) return answer(List.of(new OutputPiece.Content(text)), false);
        return answer(reasoning.feed(text), false);
    }

    /** The pieces held back, once the choice has ended. */
    public List<OutputPiece> finish() {
        List<OutputPiece> rest = reasoning == null ? List.of() : reasoning.finish();
        return answer(rest, true);
    }

    /** Whether the choice called a tool: its finish reason is then {@code tool_calls}. */
    public boolean calledTools() {
        return toolCalls != null && toolCalls.calls() > 0;
    }

    /** Passes answer text through the tool call parser; reasoning goes by as it is. */
    private List<OutputPiece> answer(List<OutputPiece> pieces, boolean finish) {
        if (toolCalls == null) return pieces.stream().filter(p -> !(p instanceof OutputPiece.Content c) || !c.text().isEmpty()).toList();
        List<OutputPiece> out = new ArrayList<>();
        for (OutputPiece p : pieces) {
            if (p instanceof OutputPiece.Content c) out.addAll(toolCalls.feed(c.text()));
            else out.add(p);
        }
        if (finish) out.addAll(toolCalls.finish());
        return out;
    }
}
