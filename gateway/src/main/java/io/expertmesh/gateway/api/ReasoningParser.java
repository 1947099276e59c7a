package io.expertmesh.gateway.api;

import java.util.ArrayList;
import java.util.List;

/**
 * ERNIE-4.5's reasoning format, as vLLM's {@code ernie45} reasoning parser reads it: the Thinking
 * variant writes its reasoning, then {@code </think>}, then the answer, either bare
 * ({@code abc\n</think>\ndef}) or wrapped ({@code abc\n</think>\n\n<response>\ndef\n</response>\n}).
 * Everything before {@code </think>} (less a leading {@code <think>}) is reasoning; output with no
 * {@code </think>} is all reasoning. Newlines right after {@code </think>} and {@code </response>}
 * are dropped, and so are the two response tags. Text arrives in any pieces; a piece that could be
 * the start of a tag is held back until the next one shows what it is.
 */
final class ReasoningParser {
    static final String THINK_START = "<think>";
    static final String THINK_END = "</think>";
    static final String RESPONSE_START = "<response>";
    static final String RESPONSE_END = "</response>";

    private enum State { OPENING, THINKING, AFTER_THINK, RESPONSE, AFTER_RESPONSE, ANSWER }

    private State state = State.OPENING;
    private final StringBuilder pending = new StringBuilder();

    /** The pieces {@code text} completes, in order. */
    List<OutputPiece> feed(String text) {
        pending.append(text);
        List<OutputPiece> out = new ArrayList<>();
        boolean progress = true;
        while (progress) progress = step(out);
        return out;
    }

    /** The pieces held back, once the output has ended. */
    List<OutputPiece> finish() {
        List<OutputPiece> out = new ArrayList<>();
        String rest = pending.toString();
        pending.setLength(0);
        switch (state) {
            case OPENING, THINKING -> emit(out, rest, true);
            case AFTER_THINK, AFTER_RESPONSE -> {
                if (!rest.isBlank()) emit(out, rest, false);
            }
            case RESPONSE, ANSWER -> emit(out, rest, false);
        }
        return out;
    }

    /** Moves on as far as the pending text allows; false when it must wait for more. */
    private boolean step(List<OutputPiece> out) {
        switch (state) {
            case OPENING -> {
                if (startsWith(THINK_START)) {
                    pending.delete(0, THINK_START.length());
                } else if (THINK_START.startsWith(pending.toString())) {
                    return false;
                }
                state = State.THINKING;
                return true;
            }
            case THINKING -> {
                return emitUntil(out, THINK_END, true, State.AFTER_THINK);
            }
            case AFTER_THINK, AFTER_RESPONSE -> {
                int text = Markers.skipNewlines(pending, 0);
                if (text == pending.length()) return false;
                pending.delete(0, text);
                if (state == State.AFTER_THINK && startsWith(RESPONSE_START)) {
                    pending.delete(0, RESPONSE_START.length());
                    state = State.RESPONSE;
                    return true;
                }
                if (state == State.AFTER_THINK && RESPONSE_START.startsWith(pending.toString())) return false;
                state = State.ANSWER;
                return true;
            }
            case RESPONSE -> {
                return emitUntil(out, RESPONSE_END, false, State.AFTER_RESPONSE);
            }
            case ANSWER -> {
                emit(out, pending.toString(), false);
                pending.setLength(0);
                return false;
            }
        }
        return false;
    }

    /**
     * Emits the pending text up to {@code marker} (as reasoning or content), drops the marker and
     * goes to {@code next}; without the marker, emits all but what could be its start.
     */
    private boolean emitUntil(List<OutputPiece> out, String marker, boolean reasoning, State next) {
        int at = pending.indexOf(marker);
        int end = at >= 0 ? at : pending.length() - Markers.heldBack(pending, marker);
        String text = pending.substring(0, end);
        emit(out, text, reasoning);
        if (at < 0) {
            pending.delete(0, end);
            return false;
        }
        pending.delete(0, at + marker.length());
        state = next;
        return true;
    }

    private boolean startsWith(String marker) {
        return pending.length() >= marker.length() && pending.substring(0, marker.length()).equals(marker);
    }

    private static void emit(List<OutputPiece> out, String text, boolean reasoning) {
        if (text.isEmpty()) return;
        out.add(reasoning ? new OutputPiece.Reasoning(text) : new OutputPiece.Content(text));
    }
}
