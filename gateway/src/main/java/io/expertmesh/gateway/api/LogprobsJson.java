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
        for (TokenLogprobs t : tokens) {
            String text = tokenizer.tokenBytes(t.token()).text();
            texts.add(text);
            logprobs.add(t.logprob());
            ObjectNode top = tops.addObject();
            // Two ids may read the same; the more likely one keeps the key.
            for (int k = 0; k < t.topTokens().length; k++) {
                String alternative = tokenizer.tokenBytes(t.topTokens()[k]).text();
                if (!top.has(alternative)) top.put(alternative, t.topLogprobs()[k]);
            }
            offsets.add(textOffset);
            textOffset += text.codePointCount(0, text.length());
        }
        return out;
    }
}
