package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.kvstore.PooledSequences;
import io.expertmesh.model.Json;
import io.expertmesh.model.engine.SequenceEngine;
import io.expertmesh.model.generate.Generation;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** logprobs, n, seeds per choice, logit_bias and echo through the real server on loopback, against the engine's own logits. */
class ServeLogprobsAndChoicesTest {
    private static final String USER = "Give me a short introduction to large language model.";
    private static TestServer server;
    private static ReferenceGenerator reference;

    @BeforeAll
    static void start() {
        server = TestServer.start("");
        reference = new ReferenceGenerator();
    }

    @AfterAll
    static void stop() {
        server.close();
        reference.close();
    }

    private static JsonNode post(String path, ObjectNode body) {
        HttpResponse<String> r = server.post(path, body.toString());
        assertEquals(200, r.statusCode(), r.body());
        return TestServer.json(r.body());
    }

    private static List<JsonNode> stream(String path, ObjectNode body) {
        HttpResponse<String> r = server.post(path, body.toString());
        assertEquals(200, r.statusCode(), r.body());
        List<JsonNode> events = TestServer.events(r);
        assertEquals("[DONE]", events.getLast().asText());
        return events.subList(0, events.size() - 1);
    }

    private static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l);
        double sum = 0;
        for (float l : logits) sum += Math.exp(l - max);
        double[] out = new double[logits.length];
        for (int i = 0; i < out.length; i++) out[i] = logits[i] - max - Math.log(sum);
        return out;
    }

    @Test
    void chatLogprobsAreTheLogSoftmaxOfTheEnginesLogitsAndTheTopTokenIsTheGreedyOne() {
        ObjectNode body = TestServer.chatBody(USER, 16, false).put("logprobs", true).put("top_logprobs", 5);
        JsonNode response = post("/v1/chat/completions", body);
        JsonNode content = response.at("/choices/0/logprobs/content");
        int[] prompt = reference.chatPrompt(USER);
        Generation greedy = reference.greedy(prompt, 16);
        assertEquals(greedy.generatedIds().length, content.size(), "one entry per generated token: " + response);
        assertEquals(response.at("/usage/completion_tokens").asInt(), content.size());
        try (SequenceEngine.Sequence engine = PooledSequences.onHeap(reference.model.model()).newSequence()) {
            float[] logits = engine.append(prompt);
            for (int i = 0; i < content.size(); i++) {
                int id = greedy.generatedIds()[i];
                JsonNode entry = content.get(i);
                double[] expected = logSoftmax(logits);
                assertEquals(reference.tokenizer.tokenBytes(id).text(), entry.path("token").asText());
                assertEquals(expected[id], entry.path("logprob").asDouble(), 1e-4, "token " + i);
                assertEquals(5, entry.path("top_logprobs").size());
                assertEquals(entry.path("token").asText(), entry.at("/top_logprobs/0/token").asText(), "the top token is the greedy one");
                assertEquals(entry.path("logprob").asDouble(), entry.at("/top_logprobs/0/logprob").asDouble(), 1e-6);
                List<Integer> bytes = new ArrayList<>();
                entry.path("bytes").forEach(b -> bytes.add(b.asInt()));
                byte[] tokenBytes = reference.tokenizer.tokenBytes(id).bytes();
                assertEquals(tokenBytes.length, bytes.size());
                for (int b = 0; b < tokenBytes.length; b++) assertEquals(tokenBytes[b] & 0xFF, bytes.get(b));
                logits = engine.append(new int[] {id});
            }
        }
    }

    @Test
    void streamedLogprobsAddUpToTheWholeResponsesOnSseAndWebSocket() {
        ObjectNode body = TestServer.chatBody(USER, 12, false).put("logprobs", true).put("top_logprobs", 2);
        JsonNode whole = post("/v1/chat/completions", body).at("/choices/0/logprobs/content");
        body.put("stream", true);
        List<JsonNode> streamed = new ArrayList<>();
        for (JsonNode chunk : stream("/v1/chat/completions", body)) chunk.at("/choices/0/logprobs/content").forEach(streamed::add);
        assertEquals(whole.toString(), Json.MAPPER.valueToTree(streamed).toString());
        try (TestServer.WsClient ws = server.websocket()) {
            ObjectNode frame = Json.MAPPER.createObjectNode().put("type", "chat.completions").put("id", "lp");
            frame.set("body", body);
            ws.send(frame.toString());
            List<JsonNode> overSocket = new ArrayList<>();
            for (JsonNode f : ws.until("lp", new ArrayList<>())) f.at("/chunk/choices/0/logprobs/content").forEach(overSocket::add);
            assertEquals(whole.toString(), Json.MAPPER.valueToTree(overSocket).toString());
        }
    }

    @Test
    void threeChoicesAtTemperatureZeroAreIdenticalAndUsageCountsThemAll() {
        ObjectNode body = TestServer.chatBody(USER, 10, false).put("n", 3);
        JsonNode response = post("/v1/chat/completions", body);
        String expected = reference.greedyChat(USER, 10).text();
        assertEquals(3, response.path("choices").size());
        int[] seen = new int[3];
        for (JsonNode choice : response.path("choices")) {
            seen[choice.path("index").asInt()]++;
            assertEquals(expected, choice.at("/message/content").asText());
        }
        assertEquals("[1, 1, 1]", java.util.Arrays.toString(seen));
        int perChoice = reference.greedyChat(USER, 10).generatedIds().length;
        assertEquals(3 * perChoice, response.at("/usage/completion_tokens").asInt());
        assertEquals(reference.chatPrompt(USER).length, response.at("/usage/prompt_tokens").asInt(), "the prompt is counted once");
    }

    @Test
    void streamedChoicesCarryTheirIndexAndEachFinishes() {
        List<JsonNode> chunks = stream("/v1/chat/completions", TestServer.chatBody(USER, 10, true).put("n", 2));
        StringBuilder[] texts = {new StringBuilder(), new StringBuilder()};
        int finished = 0;
        for (JsonNode c : chunks) {
            JsonNode choice = c.path("choices").path(0);
            texts[choice.path("index").asInt()].append(choice.at("/delta/content").asText(""));
            if (!choice.path("finish_reason").isNull()) finished++;
        }
        String expected = reference.greedyChat(USER, 10).text();
        assertEquals(expected, texts[0].toString());
        assertEquals(expected, texts[1].toString());
        assertEquals(2, finished);
    }

    @Test
    void withASeedChoicesDifferAndTheSameRequestRepeatsThem() {
        ObjectNode body = TestServer.chatBody("Invent a word.", 16, false).put("n", 3).put("temperature", 1.0).put("seed", 77);
        List<String> first = new ArrayList<>();
        post("/v1/chat/completions", body).path("choices").forEach(c -> first.add(c.at("/message/content").asText()));
        List<String> second = new ArrayList<>();
        post("/v1/chat/completions", body).path("choices").forEach(c -> second.add(c.at("/message/content").asText()));
        assertEquals(first, second);
        assertTrue(new HashSet<>(first).size() > 1, "choices differ: " + first);
    }

    @Test
    void logitBiasSteersTheTokensAndABadKeyIsA400() {
        int[] prompt = reference.chatPrompt(USER);
        int greedyFirst = reference.greedy(prompt, 1).generatedIds()[0];
        ObjectNode banned = TestServer.chatBody(USER, 1, false).put("logprobs", true);
        banned.putObject("logit_bias").put(Integer.toString(greedyFirst), -100);
        String bannedToken = post("/v1/chat/completions", banned).at("/choices/0/logprobs/content/0/token").asText();
        assertNotEquals(reference.tokenizer.tokenBytes(greedyFirst).text(), bannedToken);

        int forced = reference.tokenizer.tokenId("<0x41>").orElseThrow();
        ObjectNode forcing = TestServer.chatBody(USER, 4, false);
        forcing.putObject("logit_bias").put(Integer.toString(forced), 100);
        assertEquals("AAAA", post("/v1/chat/completions", forcing).at("/choices/0/message/content").asText());

        ObjectNode outside = TestServer.chatBody(USER, 4, false);
        outside.putObject("logit_bias").put(Integer.toString(reference.tokenizer.size()), 1);
        HttpResponse<String> r = server.post("/v1/chat/completions", outside.toString());
        assertEquals(400, r.statusCode());
        assertEquals("logit_bias", TestServer.json(r.body()).at("/error/param").asText());
        assertTrue(r.body().contains("outside the vocabulary"), r.body());
    }

    @Test
    void completionsLogprobsHaveParallelListsAndEchoLeadsTheText() {
        ObjectNode body = Json.MAPPER.createObjectNode().put("prompt", "Once upon a time").put("max_tokens", 8).put("temperature", 0)
                .put("logprobs", 2);
        JsonNode lp = post("/v1/completions", body).at("/choices/0/logprobs");
        int n = lp.path("tokens").size();
        assertTrue(n >= 1);
        assertEquals(n, lp.path("token_logprobs").size());
        assertEquals(n, lp.path("top_logprobs").size());
        assertEquals(n, lp.path("text_offset").size());
        assertEquals(0, lp.at("/text_offset/0").asInt());
        assertEquals(lp.at("/token_logprobs/0").asDouble(), lp.at("/top_logprobs/0").path(lp.at("/tokens/0").asText()).asDouble(), 1e-6);

        ObjectNode echo = Json.MAPPER.createObjectNode().put("prompt", "Once upon a time").put("max_tokens", 8).put("temperature", 0)
                .put("echo", true);
        String plain = post("/v1/completions", body.without("logprobs")).at("/choices/0/text").asText();
        assertEquals("Once upon a time" + plain, post("/v1/completions", echo).at("/choices/0/text").asText());
        assertEquals("Once upon a time" + plain, TestServer.text(stream("/v1/completions", echo.put("stream", true))));
    }

    @Test
    void echoWithLogprobsPutsThePromptTokensFirstWithTheirLogSoftmaxGivenThePrefix() {
        int[] prompt = reference.chatPrompt(USER);
        ObjectNode body = Json.MAPPER.createObjectNode().put("max_tokens", 4).put("temperature", 0).put("logprobs", 2).put("echo", true);
        ArrayNode ids = body.putArray("prompt");
        for (int id : prompt) ids.add(id);
        JsonNode generated = post("/v1/completions", body.deepCopy().put("echo", false)).at("/choices/0/logprobs");
        // Twice: the second finds the prompt's blocks in the prefix cache and must still compute every row.
        post("/v1/completions", body);
        JsonNode response = post("/v1/completions", body);
        JsonNode lp = response.at("/choices/0/logprobs");
        int total = prompt.length + generated.path("tokens").size();
        for (String list : List.of("tokens", "token_logprobs", "top_logprobs", "text_offset")) assertEquals(total, lp.path(list).size(), list);
        assertTrue(lp.at("/token_logprobs/0").isNull(), "the first prompt token has no log probability: " + lp);
        assertTrue(lp.at("/top_logprobs/0").isNull());
        assertEquals(0, lp.at("/text_offset/0").asInt());
        try (SequenceEngine.Sequence engine = PooledSequences.onHeap(reference.model.model()).newSequence()) {
            for (int p = 1; p < prompt.length; p++) {
                double[] expected = logSoftmax(engine.append(new int[] {prompt[p - 1]}));
                assertEquals(reference.tokenizer.tokenBytes(prompt[p]).text(), lp.at("/tokens/" + p).asText());
                assertEquals(expected[prompt[p]], lp.at("/token_logprobs/" + p).asDouble(), 1e-4, "prompt token " + p);
                double best = java.util.Arrays.stream(expected).max().orElseThrow();
                JsonNode top = lp.at("/top_logprobs/" + p);
                assertTrue(top.size() >= 1 && top.size() <= 2, top.toString());
                double topBest = Double.NEGATIVE_INFINITY;
                for (JsonNode v : top) topBest = Math.max(topBest, v.asDouble());
                assertEquals(best, topBest, 1e-4, "prompt position " + p + "'s most likely next token");
            }
        }
        String echo = response.at("/choices/0/text").asText();
        String echoed = echo.substring(0, echo.length() - post("/v1/completions", body.deepCopy().put("echo", false))
                .at("/choices/0/text").asText().length());
        assertEquals(echoed.codePointCount(0, echoed.length()), lp.at("/text_offset/" + prompt.length).asInt(),
                "the generated tokens' offsets follow the echoed prompt");
        for (int g = 0; g < generated.path("tokens").size(); g++) {
            assertEquals(generated.at("/tokens/" + g).asText(), lp.at("/tokens/" + (prompt.length + g)).asText());
            assertEquals(generated.at("/token_logprobs/" + g).asDouble(), lp.at("/token_logprobs/" + (prompt.length + g)).asDouble(), 1e-6);
        }

        ObjectNode merged = Json.MAPPER.createObjectNode();
        JsonNode firstWithText = null;
        for (JsonNode chunk : stream("/v1/completions", body.deepCopy().put("stream", true))) {
            JsonNode choice = chunk.at("/choices/0");
            if (firstWithText == null && !choice.path("text").asText("").isEmpty()) firstWithText = choice;
            choice.path("logprobs").properties().forEach(e -> {
                if (!merged.has(e.getKey())) merged.putArray(e.getKey());
                ((ArrayNode) merged.get(e.getKey())).addAll((ArrayNode) e.getValue());
            });
        }
        assertEquals(lp.toString(), merged.toString(), "the streamed log probabilities add up to the whole response's");
        assertNotNull(firstWithText);
        assertEquals(echoed, firstWithText.path("text").asText(), "the first chunk with text is the echoed prompt");
        assertEquals(prompt.length, firstWithText.at("/logprobs/tokens").size(), "it carries the prompt's log probabilities");
    }
}
