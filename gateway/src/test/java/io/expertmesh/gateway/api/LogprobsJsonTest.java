package io.expertmesh.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.sampling.TokenLogprobs;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LogprobsJsonTest {
    private static Tokenizer tokenizer;
    private static int newline;
    private static int lead;
    private static int word;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(Path.of(System.getProperty("expertmesh.tinyModel", "../models/tiny-ernie-4.5-moe")));
        newline = tokenizer.tokenId("<0x0A>").orElseThrow();
        lead = tokenizer.tokenId("<0xE4>").orElseThrow();
        int[] hello = tokenizer.encode("hello");
        word = hello[0];
    }

    private static TokenLogprobs token(int id, float logprob, int[] top, float[] topLogprobs) {
        return new TokenLogprobs(id, logprob, top, topLogprobs);
    }

    @Test
    void chatEntriesHaveTokenLogprobBytesAndAlternatives() {
        JsonNode json = new LogprobsJson(Endpoint.CHAT, tokenizer, "").of(List.of(
                token(newline, -0.25f, new int[] {newline, lead}, new float[] {-0.25f, -2f}),
                token(lead, -3f, new int[0], new float[0])));
        String wordText = tokenizer.tokenBytes(word).text();
        assertEquals("{\"content\":[{\"token\":\"\\n\",\"logprob\":-0.25,\"bytes\":[10],\"top_logprobs\":["
                + "{\"token\":\"\\n\",\"logprob\":-0.25,\"bytes\":[10]},{\"token\":\"<0xE4>\",\"logprob\":-2.0,\"bytes\":[228]}]},"
                + "{\"token\":\"<0xE4>\",\"logprob\":-3.0,\"bytes\":[228],\"top_logprobs\":[]}]}", json.toString());
        assertEquals(wordText, new LogprobsJson(Endpoint.CHAT, tokenizer, "").of(List.of(token(word, -1f, new int[0], new float[0])))
                .at("/content/0/token").asText());
    }

    @Test
    void completionListsRunInParallelAndOffsetsCountOnAcrossCallsFromTheEchoedPrompt() {
        LogprobsJson choice = new LogprobsJson(Endpoint.COMPLETION, tokenizer, "héllo");
        JsonNode first = choice.of(List.of(token(newline, -0.5f, new int[] {lead, newline}, new float[] {-0.1f, -0.5f})));
        assertEquals("{\"tokens\":[\"\\n\"],\"token_logprobs\":[-0.5],\"top_logprobs\":[{\"<0xE4>\":-0.1,\"\\n\":-0.5}],"
                + "\"text_offset\":[5]}", first.toString());
        JsonNode second = choice.of(List.of(token(word, -1f, new int[0], new float[0]), token(newline, -2f, new int[0], new float[0])));
        int wordLength = tokenizer.tokenBytes(word).text().length();
        assertEquals("[6," + (6 + wordLength) + "]", second.get("text_offset").toString());
        assertEquals("[{},{}]", second.get("top_logprobs").toString());
    }

    @Test
    void twoAlternativesThatReadTheSameKeepTheMoreLikely() {
        int space = tokenizer.tokenId("<0x20>").orElseThrow();
        int metaspace = tokenizer.tokenId("\u2581").orElseThrow();
        JsonNode json = new LogprobsJson(Endpoint.COMPLETION, tokenizer, "")
                .of(List.of(token(space, -0.1f, new int[] {space, metaspace}, new float[] {-0.1f, -0.7f})));
        assertEquals("[{\" \":-0.1}]", json.get("top_logprobs").toString());
    }
}
