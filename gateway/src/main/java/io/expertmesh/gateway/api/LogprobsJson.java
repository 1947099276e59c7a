package io.expertmesh.gateway.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.sampling.TokenLogprobs;
import io.expertmesh.model.tokenizer.TokenBytes;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.util.List;

/**
 * A choice's {@code logprobs} object for some of its tokens, in the endpoint's OpenAI shape. Chat:
 * {@code {"content":[{"token","logprob","bytes","top_logprobs":[{"token","logprob","bytes"}..]}..]}}.
 * Completions: {@code {"tokens":[..],"token_logprobs":[..],"top_logprobs":[{token:logprob}..],"text_offset":[..]}},
 * where a text offset counts characters (code points) of the choice's text before the token, the
 * echoed prompt included. One instance follows one choice, so its offsets run on across chunks.
 */
public final class LogprobsJson {
    private final Endpoint endpoint;
    private final Tokenizer tokenizer;
    private int textOffset;

    /** @param textBefore the text before the first token: the echoed prompt, else "" */
    public LogprobsJson(Endpoint endpoint, Tokenizer tokenizer, String textBefore) {
        this.endpoint = endpoint;
        this.tokenizer = tokenizer;
        this.textOffset = textBefore.codePointCount(0, textBefore.length());
    }

    /** The object for {@code tokens}, which follow the tokens of earlier calls. */
    public ObjectNode of(List<TokenLogprobs> tokens) {
        return endpoint == Endpoint.CHAT ? chat(tokens) : completion(tokens);
    }

    /**
     * A completion's object for the echoed prompt's tokens, then {@code tokens}: the prompt's first
     * token ({@code promptFirst}) has null log probabilities, each later one its {@code promptLogprobs}
     * entry; the prompt's text offsets count from 0. Called before any {@link #of}.
     */
    public ObjectNode withPrompt(int promptFirst, List<TokenLogprobs> promptLogprobs, List<TokenLogprobs> tokens) {
        ObjectNode out = completion(tokens);
        ArrayNode texts = Json.MAPPER.createArrayNode();
        ArrayNode logprobs = Json.MAPPER.createArrayNode();
        ArrayNode tops = Json.MAPPER.createArrayNode();
        ArrayNode offsets = Json.MAPPER.createArrayNode();
        String first = tokenizer.tokenBytes(promptFirst).text();
        texts.add(first);
        logprobs.addNull();
        tops.addNull();
        offsets.add(0);
        int offset = first.codePointCount(0, first.length());
        for (TokenLogprobs t : promptLogprobs) offset = addCompletionToken(texts, logprobs, tops, offsets, t, offset);
        texts.addAll((ArrayNode) out.get("tokens"));
        logprobs.addAll((ArrayNode) out.get("token_logprobs"));
        tops.addAll((ArrayNode) out.get("top_logprobs"));
        offsets.addAll((ArrayNode) out.get("text_offset"));
        out.set("tokens", texts);
        out.set("token_logprobs", logprobs);
        out.set("top_logprobs", tops);
        out.set("text_offset", offsets);
        return out;
    }

    private ObjectNode chat(List<TokenLogprobs> tokens) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        ArrayNode content = out.putArray("content");
        for (TokenLogprobs t : tokens) {
            ObjectNode entry = content.addObject();
            putToken(entry, t.token(), t.logprob());
            ArrayNode top = entry.putArray("top_logprobs");
            for (int k = 0; k < t.topTokens().length; k++) putToken(top.addObject(), t.topTokens()[k], t.topLogprobs()[k]);
        }
        return out;
    }

    private void putToken(ObjectNode entry, int id, float logprob) {
        TokenBytes token = tokenizer.tokenBytes(id);
        entry.put("token", token.text());
        entry.put("logprob", logprob);
        ArrayNode bytes = entry.putArray("bytes");
        for (byte b : token.bytes()) bytes.add(b & 0xFF);
    }

    private ObjectNode completion(List<TokenLogprobs> tokens) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        ArrayNode texts = out.putArray("tokens");
        ArrayNode logprobs = out.putArray("token_logprobs");
        ArrayNode tops = out.putArray("top_logprobs");
        ArrayNode offsets = out.putArray("text_offset");
        for (TokenLogprobs t : tokens) textOffset = addCompletionToken(texts, logprobs, tops, offsets, t, textOffset);
        return out;
    }

    /** Appends one token's entries at text offset {@code offset}; returns the offset after it. */
    private int addCompletionToken(ArrayNode texts, ArrayNode logprobs, ArrayNode tops, ArrayNode offsets, TokenLogprobs t, int offset) {
        String text = tokenizer.tokenBytes(t.token()).text();
        texts.add(text);
        logprobs.add(t.logprob());
        ObjectNode top = tops.addObject();
        // Two ids may read the same; the more likely one keeps the key.
        for (int k = 0; k < t.topTokens().length; k++) {
            String alternative = tokenizer.tokenBytes(t.topTokens()[k]).text();
            if (!top.has(alternative)) top.put(alternative, t.topLogprobs()[k]);
        }
        offsets.add(offset);
        return offset + text.codePointCount(0, text.length());
    }
}
