package io.expertmesh.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The tool call and reasoning parsers on real ERNIE-format output, fed whole, one character at a
 * time, and split in two at every byte boundary (a split inside a multi-byte character is moved to
 * the character's start, as the streaming detokenizer never sends half a character).
 */
class ChatOutputParserTest {
    /** What a choice's pieces add up to, without the random call ids. */
    record Result(String content, String reasoning, List<List<String>> calls, boolean calledTools) {}

    private static Result parse(boolean reasoning, boolean tools, List<String> pieces) {
        ChatOutputParser parser = new ChatOutputParser(reasoning, tools);
        ParsedOutput out = new ParsedOutput();
        for (String p : pieces) out.add(parser.feed(p));
        out.add(parser.finish());
        List<List<String>> calls = new ArrayList<>();
        for (ParsedOutput.ToolCall c : out.toolCalls()) {
            assertTrue(c.id().matches("call_[0-9A-Za-z]{24}"), c.id());
            calls.add(List.of(c.name(), c.arguments()));
        }
        return new Result(out.content(), out.reasoning(), calls, parser.calledTools());
    }

    /** Checks {@code text} parses to {@code expected} however it is split. */
    private static void assertEverySplit(boolean reasoning, boolean tools, String text, Result expected) {
        assertEquals(expected, parse(reasoning, tools, List.of(text)), "whole");
        List<String> chars = new ArrayList<>();
        text.codePoints().forEach(cp -> chars.add(Character.toString(cp)));
        assertEquals(expected, parse(reasoning, tools, chars), "one character at a time");
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        for (int cut = 0; cut <= bytes.length; cut++) {
            int at = cut;
            while (at < bytes.length && at > 0 && (bytes[at] & 0xC0) == 0x80) at--; // a continuation byte: back to the character's start
            String head = new String(bytes, 0, at, StandardCharsets.UTF_8);
            String tail = new String(bytes, at, bytes.length - at, StandardCharsets.UTF_8);
            assertEquals(expected, parse(reasoning, tools, List.of(head, tail)), "split at byte " + cut);
        }
    }

    @Test
    void aToolCallBecomesItsNameAndArgumentsExactlyAsWritten() {
        String text = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\", \"days\": [1, 2], \"note\": \"a } and \\\" inside\"}}\n</tool_call>";
        assertEverySplit(false, true, text, new Result("", "",
                List.of(List.of("get_weather", "{\"city\": \"Zürich\", \"days\": [1, 2], \"note\": \"a } and \\\" inside\"}")), true));
    }

    @Test
    void textBeforeACallIsContentWithoutItsTrailingNewlinesAndTwoCallsKeepTheirOrder() {
        String text = "Let me look.\n\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n"
                + "<tool_call>\n{\"name\": \"b\", \"arguments\": {\"x\": 1}}\n</tool_call>\n";
        assertEverySplit(false, true, text, new Result("Let me look.", "", List.of(List.of("a", "{}"), List.of("b", "{\"x\": 1}")), true));
    }

    @Test
    void aCallWithArgumentsBeforeTheNameIsReadWholeAtItsEnd() {
        String text = "<tool_call>\n{\"arguments\": {\"q\": \"x\"}, \"name\": \"search\"}\n</tool_call>";
        assertEverySplit(false, true, text, new Result("", "", List.of(List.of("search", "{\"q\":\"x\"}")), true));
    }

    @Test
    void aToolCallTagAroundSomethingElseStaysText() {
        String text = "Use <tool_call>not json</tool_call> tags.";
        assertEverySplit(false, true, text, new Result(text, "", List.of(), false));
    }

    @Test
    void aNameThatNeverEndsIsNoHeaderAndTheUnclosedCallStaysText() {
        String text = "<tool_call>\n{\"name\": \"" + "x".repeat(300) + " and on";
        assertEquals(new Result(text, "", List.of(), false), parse(false, true, List.of(text.substring(0, 100), text.substring(100))));
        String closed = text + "</tool_call> done";
        assertEquals(new Result(closed, "", List.of(), false), parse(false, true, List.of(closed.substring(0, 100), closed.substring(100))));
    }

    @Test
    void withoutToolParsingACallIsText() {
        String text = "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>";
        assertEverySplit(false, false, text, new Result(text, "", List.of(), false));
    }

    @Test
    void aCallCutOffByTheTokenLimitKeepsTheArgumentsWritten() {
        String text = "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": [1, 2";
        assertEverySplit(false, true, text, new Result("", "", List.of(List.of("f", "{\"a\": [1, 2")), true));
    }

    @Test
    void unconstrainedArgumentsThatAreNotJsonEndWhereTheirScalarEnds() {
        // A call the model writes on its own (tool_choice auto) is not guided: a bare word is a scalar, ended by the first space.
        String text = "<tool_call>\n{\"name\": \"f\", \"arguments\": garbage and more";
        assertEverySplit(false, true, text, new Result("", "", List.of(List.of("f", "garbage")), true));
    }

    @Test
    void reasoningEndsAtThinkEndAndTheResponseTagsAreDropped() {
        String text = "Think about it.\n</think>\n\n<response>\nIt is 4.\n</response>\n";
        assertEverySplit(true, false, text, new Result("\nIt is 4.\n", "Think about it.\n", List.of(), false));
    }

    @Test
    void aBareAnswerFollowsThinkEndWithoutItsNewlines() {
        String text = "<think>Hmm, 2+2.\n</think>\n\nFour.";
        assertEverySplit(true, false, text, new Result("Four.", "Hmm, 2+2.\n", List.of(), false));
    }

    @Test
    void outputWithoutThinkEndIsAllReasoning() {
        String text = "still thinking </thi";
        assertEverySplit(true, false, text, new Result("", text, List.of(), false));
    }

    @Test
    void reasoningThenAToolCall() {
        String text = "I need the weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n";
        assertEverySplit(true, true, text, new Result("", "I need the weather.\n",
                List.of(List.of("get_weather", "{\"city\": \"Paris\"}")), true));
    }

    @Test
    void streamedArgumentsArriveBeforeTheCallEnds() {
        ChatOutputParser parser = new ChatOutputParser(false, true);
        List<OutputPiece> first = parser.feed("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\"");
        assertEquals(2, first.size());
        assertEquals("f", ((OutputPiece.ToolCallStart) first.get(0)).name());
        assertEquals(new OutputPiece.ToolCallArguments(0, "{\"a\""), first.get(1));
        assertEquals(List.of(new OutputPiece.ToolCallArguments(0, ": 1}")), parser.feed(": 1}\n</tool"));
        assertEquals(List.of(), parser.feed("_call>"));
        assertEquals(List.of(), parser.finish());
    }

    @Test
    void plainTextPassesThroughAtOnce() {
        ChatOutputParser parser = new ChatOutputParser(false, true);
        assertEquals(List.of(new OutputPiece.Content("Hello")), parser.feed("Hello"));
        assertEquals(List.of(), parser.feed("\n"));
        assertEquals(List.of(new OutputPiece.Content("\nworld ")), parser.feed("world <"));
        assertEquals(List.of(new OutputPiece.Content("<b>")), parser.feed("b>"));
        assertFalse(parser.calledTools());
        assertEquals(List.of(), parser.finish());
    }
}
