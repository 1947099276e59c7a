package io.expertmesh.gateway.api;

import java.util.ArrayList;
import java.util.List;

/** A chat choice's whole output gathered from its {@link OutputPiece}s, for a non-streamed response. */
public final class ParsedOutput {
    /** One tool call: id, function name and the arguments text. */
    public record ToolCall(String id, String name, String arguments) {}

    private final StringBuilder content = new StringBuilder();
    private final StringBuilder reasoning = new StringBuilder();
    private final List<String> ids = new ArrayList<>();
    private final List<String> names = new ArrayList<>();
    private final List<StringBuilder> arguments = new ArrayList<>();

    public ParsedOutput add(List<OutputPiece> pieces) {
        for (OutputPiece p : pieces) {
            switch (p) {
                case OutputPiece.Content c -> content.append(c.text());
                case OutputPiece.Reasoning r -> reasoning.append(r.text());
                case OutputPiece.ToolCallStart s -> {
                    ids.add(s.id());
                    names.add(s.name());
                    arguments.add(new StringBuilder());
                }
                case OutputPiece.ToolCallArguments a -> arguments.get(a.index()).append(a.fragment());
            }
        }
        return this;
    }

    public String content() {
        return content.toString();
    }

    public String reasoning() {
        return reasoning.toString();
    }

    public List<ToolCall> toolCalls() {
        List<ToolCall> calls = new ArrayList<>(ids.size());
        for (int i = 0; i < ids.size(); i++) calls.add(new ToolCall(ids.get(i), names.get(i), arguments.get(i).toString()));
        return calls;
    }
}
