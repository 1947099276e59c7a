package io.expertmesh.gateway.api;

import static io.expertmesh.gateway.api.RequestParserTest.json;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.tokenizer.ChatMessage;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenizeRequestTest {
    private static void assertBad(String body, String param, String fragment, boolean detokenize) {
        ApiException e = assertThrows(ApiException.class,
                () -> {
                    if (detokenize) DetokenizeRequest.parse(json(body));
                    else TokenizeRequest.parse(json(body));
                });
        assertEquals(400, e.status());
        assertEquals(param, e.param(), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    @Test
    void promptIsTokenizedAsIs() {
        TokenizeRequest r = TokenizeRequest.parse(json("{\"model\":\"ernie\",\"prompt\":\"Hello\"}"));
        assertEquals("ernie", r.model());
        assertEquals("Hello", r.prompt());
        assertNull(r.messages());
    }

    @Test
    void messagesMayComeWithToolsCheckedAsForChat() {
        TokenizeRequest r = TokenizeRequest.parse(json("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],"
                + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}]}"));
        assertEquals("get_weather", r.tools().getFirst().at("/function/name").textValue());
        assertBad("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a b\"}}]}",
                "tools", "'tools[0].function.name'", false);
    }

    @Test
    void emptyPromptIsAllowed() {
        assertEquals("", TokenizeRequest.parse(json("{\"prompt\":\"\"}")).prompt());
    }

    @Test
    void messagesFollowTheChatRulesAndAddTheGenerationPromptByDefault() {
        TokenizeRequest r = TokenizeRequest.parse(json(
                "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}]}"));
        assertNull(r.prompt());
        assertEquals(List.of(new ChatMessage("user", "ab")), r.messages());
        assertTrue(r.addGenerationPrompt());
        assertFalse(TokenizeRequest.parse(json("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],"
                + "\"add_generation_prompt\":false}")).addGenerationPrompt());
    }

    @Test
    void badTokenizeBodiesNameTheField() {
        assertBad("[1]", null, "must be a JSON object", false);
        assertBad("{}", "prompt", "exactly one of 'prompt'", false);
        assertBad("{\"prompt\":\"a\",\"messages\":[]}", "messages", "exactly one of 'prompt'", false);
        assertBad("{\"prompt\":5}", "prompt", "'prompt' must be a string, got 5", false);
        assertBad("{\"messages\":[]}", "messages", "non-empty array", false);
        assertBad("{\"messages\":[{\"role\":\"function\",\"content\":\"x\"}]}", "messages", "got \"function\"", false);
        assertBad("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"add_generation_prompt\":\"yes\"}",
                "add_generation_prompt", "must be a boolean", false);
        assertBad("{\"prompt\":\"a\",\"model\":[]}", "model", "'model' must be a string", false);
    }

    @Test
    void detokenizeReadsTokenIds() {
        DetokenizeRequest r = DetokenizeRequest.parse(json("{\"model\":\"ernie\",\"tokens\":[0,5,100000]}"));
        assertEquals("ernie", r.model());
        assertArrayEquals(new int[] {0, 5, 100000}, r.tokens());
        assertArrayEquals(new int[0], DetokenizeRequest.parse(json("{\"tokens\":[]}")).tokens());
    }

    @Test
    void badDetokenizeBodiesNameTokens() {
        assertBad("\"x\"", null, "must be a JSON object", true);
        assertBad("{}", "tokens", "'tokens' must be an array of token ids", true);
        assertBad("{\"tokens\":\"1 2\"}", "tokens", "got \"1 2\"", true);
        assertBad("{\"tokens\":[1,-1]}", "tokens", "'tokens[1]' must be a token id (an integer >= 0), got -1", true);
        assertBad("{\"tokens\":[1,\"2\"]}", "tokens", "got \"2\"", true);
        assertBad("{\"tokens\":[1.5]}", "tokens", "got 1.5", true);
        assertBad("{\"tokens\":[[1]]}", "tokens", "got [1]", true);
    }
}
