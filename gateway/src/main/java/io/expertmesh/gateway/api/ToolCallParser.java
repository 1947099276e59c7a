package io.expertmesh.gateway.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import java.util.ArrayList;
import java.util.List;

/**
 * ERNIE-4.5's tool calls, as vLLM's {@code ernie45} tool parser reads them, split out of the answer
 * text as it streams: each call is {@code <tool_call>\n{"name": NAME, "arguments": ARGS}\n</tool_call>}.
 * Once the header up to {@code "arguments": } has come, the call starts (id and name), and the
 * arguments follow fragment by fragment, exactly as the model wrote them after that one space, up to
 * the end of their JSON value. A call whose object has another shape is read whole at {@code </tool_call>}; one that
 * is not a JSON object with a name stays text. As in vLLM, newlines before a call are dropped, and
 * so is text after the first call: the model's turn is the calls.
 */
final class ToolCallParser {
    static final String START = "<tool_call>";
    static final String END = "</tool_call>";

    private enum State { TEXT, HEADER, ARGUMENTS, AFTER_ARGUMENTS, WHOLE }

    private State state = State.TEXT;
    private final StringBuilder pending = new StringBuilder();
    private int calls;
    private JsonValueEnd arguments;
    /** In {@code WHOLE}, how much of the pending text has been searched for {@code </tool_call>}. */
    private int searched;

    /** How many calls have started. */
    int calls() {
        return calls;
    }

    /** The pieces {@code text} completes, in order. */
    List<OutputPiece> feed(String text) {
        pending.append(text);
        List<OutputPiece> out = new ArrayList<>();
        boolean progress = true;
        while (progress) progress = step(out);
        return out;
    }

    /** The pieces held back, once the output has ended: text that never became a call. */
    List<OutputPiece> finish() {
        List<OutputPiece> out = new ArrayList<>();
        switch (state) {
            case TEXT -> text(out, pending.toString());
            case HEADER, WHOLE -> text(out, START + pending);
            case ARGUMENTS, AFTER_ARGUMENTS -> { } // the call was reported as it came; the model stopped inside it
        }
        pending.setLength(0);
        return out;
    }

    private boolean step(List<OutputPiece> out) {
        switch (state) {
            case TEXT -> {
                int at = pending.indexOf(START);
                if (at >= 0) {
                    text(out, stripTrailingNewlines(pending.substring(0, at)));
                    pending.delete(0, at + START.length());
                    state = State.HEADER;
                    return true;
                }
                // Hold back what could start a call, and newlines that would be dropped before one.
                int end = pending.length() - Markers.heldBack(pending, START);
                end = stripTrailingNewlines(pending.substring(0, end)).length();
                text(out, pending.substring(0, end));
                pending.delete(0, end);
                return false;
            }
            case HEADER -> {
                Header header = Header.scan(pending);
                if (header == null) {
                    if (pending.indexOf(END) < 0) return false;
                    state = State.WHOLE; // a call in another shape, or none: decided at its end
                    return true;
                }
                if (header.argumentsStart() < 0) {
                    state = State.WHOLE;
                    return true;
                }
                out.add(new OutputPiece.ToolCallStart(calls, newId(), header.name()));
                calls++;
                pending.delete(0, header.argumentsStart());
                arguments = new JsonValueEnd();
                state = State.ARGUMENTS;
                return true;
            }
            case ARGUMENTS -> {
                int end = arguments.consume(pending);
                if (end > 0) out.add(new OutputPiece.ToolCallArguments(calls - 1, pending.substring(0, end)));
                pending.delete(0, end);
                if (!arguments.complete()) return false;
                state = State.AFTER_ARGUMENTS;
                return true;
            }
            case AFTER_ARGUMENTS -> {
                int at = pending.indexOf(END);
                if (at < 0) {
                    pending.delete(0, pending.length() - Markers.heldBack(pending, END));
                    return false;
                }
                pending.delete(0, at + END.length());
                state = State.TEXT;
                return true;
            }
            case WHOLE -> {
                int at = pending.indexOf(END, Math.max(0, searched - END.length()));
                if (at < 0) {
                    searched = pending.length(); // the next piece is searched from here, not from the call's start
                    return false;
                }
                searched = 0;
                String body = pending.substring(0, at);
                pending.delete(0, at + END.length());
                state = State.TEXT;
                whole(out, body);
                return true;
            }
        }
        return false;
    }

    /** A call read at its end: a JSON object with a string {@code name}; anything else stays text. */
    private void whole(List<OutputPiece> out, String body) {
        JsonNode call;
        try {
            call = Json.MAPPER.readTree(body);
        } catch (Exception notJson) {
            call = null;
        }
        if (call == null || !call.isObject() || !call.path("name").isTextual()) {
            text(out, START + body + END);
            return;
        }
        JsonNode args = call.path("arguments");
        out.add(new OutputPiece.ToolCallStart(calls, newId(), call.get("name").textValue()));
        out.add(new OutputPiece.ToolCallArguments(calls, args.isTextual() ? args.textValue() : args.isMissingNode() ? "{}" : args.toString()));
        calls++;
    }

    /** Answer text, which ends at the first call. */
    private void text(List<OutputPiece> out, String text) {
        if (calls == 0 && !text.isEmpty()) out.add(new OutputPiece.Content(text));
    }

    private static String stripTrailingNewlines(String s) {
        int end = s.length();
        while (end > 0 && s.charAt(end - 1) == '\n') end--;
        return s.substring(0, end);
    }

    /** OpenAI's shape of a tool call id: {@code call_} and 24 random base62 characters. */
    static String newId() {
        return ResponseFormatter.randomId("call_");
    }

    /**
     * The call's header, {@code {"name": "NAME", "arguments": } (any whitespace): null while the text
     * could still become one; {@code argumentsStart} -1 when it cannot; else where the arguments begin.
     */
    record Header(String name, int argumentsStart) {
        private static final Header MISMATCH = new Header("", -1);
        private static final int MAX_NAME_SCAN = 4 * ToolRequest.MAX_NAME_LENGTH;

        static Header scan(CharSequence s) {
            Cursor c = new Cursor(s);
            if (!c.expect("{") || !c.expect("\"name\"") || !c.expect(":")) return c.result();
            c.skipSpace();
            if (c.atEnd()) return null;
            if (s.charAt(c.at) != '"') return MISMATCH;
            int close = c.at + 1;
            while (close < s.length() && s.charAt(close) != '"') close += s.charAt(close) == '\\' ? 2 : 1;
            // A name runs to 64 characters; one that goes on is not a header, and is not rescanned at every piece.
            if (close - c.at > MAX_NAME_SCAN) return MISMATCH;
            if (close >= s.length()) return null;
            String name;
            try {
                name = Json.MAPPER.readValue(s.subSequence(c.at, close + 1).toString(), String.class);
            } catch (Exception badEscape) {
                return MISMATCH;
            }
            c.at = close + 1;
            if (!c.expect(",") || !c.expect("\"arguments\"") || !c.expect(":")) return c.result();
            // The template writes one space after the colon; whatever the model writes after it is the arguments' own.
            if (c.atEnd()) return null;
            if (s.charAt(c.at) == ' ') c.at++;
            return new Header(name, c.at);
        }

        /** Reads fixed text after optional whitespace; remembers whether it ran out or differed. */
        private static final class Cursor {
            private final CharSequence s;
            int at;
            private boolean ranOut;

            Cursor(CharSequence s) {
                this.s = s;
            }

            void skipSpace() {
                while (at < s.length() && Character.isWhitespace(s.charAt(at))) at++;
            }

            boolean atEnd() {
                return at >= s.length();
            }

            boolean expect(String literal) {
                skipSpace();
                for (int i = 0; i < literal.length(); i++, at++) {
                    if (at >= s.length()) {
                        ranOut = true;
                        return false;
                    }
                    if (s.charAt(at) != literal.charAt(i)) return false;
                }
                return true;
            }

            Header result() {
                return ranOut ? null : MISMATCH;
            }
        }
    }

    /**
     * Where a JSON value that arrives in pieces ends: an object or array at its closing bracket, a
     * string at its closing quote, a number or literal before the first character that cannot be part
     * of it. Only brackets and quotes are tracked; the value itself is not checked.
     */
    static final class JsonValueEnd {
        private int depth;
        private boolean started;
        private boolean scalar;
        private boolean inString;
        private boolean escaped;
        private boolean complete;

        boolean complete() {
            return complete;
        }

        /** How many characters of {@code s} belong to the value; sets {@link #complete} when it ends within them. */
        int consume(CharSequence s) {
            for (int i = 0; i < s.length(); i++) {
                char ch = s.charAt(i);
                if (!started) {
                    if (Character.isWhitespace(ch)) continue;
                    started = true;
                    if (ch == '"') {
                        inString = true;
                    } else if (ch == '{' || ch == '[') {
                        depth = 1;
                    } else {
                        scalar = true;
                    }
                    continue;
                }
                if (inString) {
                    if (escaped) {
                        escaped = false;
                    } else if (ch == '\\') {
                        escaped = true;
                    } else if (ch == '"') {
                        inString = false;
                        if (depth == 0) return done(i + 1);
                    }
                } else if (scalar) {
                    if (ch == ',' || ch == '}' || ch == ']' || ch == '<' || Character.isWhitespace(ch)) return done(i);
                } else if (ch == '"') {
                    inString = true;
                } else if (ch == '{' || ch == '[') {
                    depth++;
                } else if ((ch == '}' || ch == ']') && --depth == 0) {
                    return done(i + 1);
                }
            }
            return s.length();
        }

        private int done(int end) {
            complete = true;
            return end;
        }
    }
}
