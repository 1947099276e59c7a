package io.expertmesh.gateway.api;

import java.util.Objects;

/** One piece of a chat choice's output once {@link ChatOutputParser} has split it. */
public sealed interface OutputPiece {
    /** Answer text ({@code content}). */
    record Content(String text) implements OutputPiece {}

    /** Reasoning text ({@code reasoning_content}): what a thinking model wrote before {@code </think>}. */
    record Reasoning(String text) implements OutputPiece {}

    /** A tool call begins: its index in the choice's calls, its id and the function's name. */
    record ToolCallStart(int index, String id, String name) implements OutputPiece {
        public ToolCallStart {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(name, "name");
        }
    }

    /** The next fragment of tool call {@code index}'s {@code arguments} text. */
    record ToolCallArguments(int index, String fragment) implements OutputPiece {}
}
