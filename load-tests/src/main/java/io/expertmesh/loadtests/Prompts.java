package io.expertmesh.loadtests;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import io.expertmesh.model.Json;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Request bodies for the load test: a user message of random words (length uniform in the configured
 * range), a random max_tokens in its range, temperature 0, and usage asked for. Request number {@code n}
 * always gets the same body for the same seed, whichever virtual user sends it.
 */
public final class Prompts {
    private static final String[] WORDS = ("the a of and to in is it that for on with as was at by be this from or an are "
            + "model expert token stream server request latency throughput cluster node actor message batch cache "
            + "prefix block attention router layer weight tensor memory bandwidth kernel thread queue socket event "
            + "chunk first last time second minute number value result answer question explain describe compare "
            + "summarise write short long simple clear example reason because therefore however while after before "
            + "mountain river ocean forest city garden library window bridge engine rocket planet comet galaxy "
            + "music colour language history science coffee bread winter summer morning evening quickly "
            + "slowly carefully gently bright quiet heavy light warm cold ancient modern small large").split(" ");

    /** One request: its number, the JSON body (without {@code stream}), and its max_tokens. */
    public record Request(long number, String body, int words, int maxTokens) {}

    private final LoadParams params;
    private final AtomicLong counter = new AtomicLong();

    public Prompts(LoadParams params) {
        this.params = params;
    }

    /** The next request of the run. */
    public Request next() {
        return make(counter.getAndIncrement(), false);
    }

    /**
     * The next request that will be cancelled after its first token: it asks for {@code cancelTokens}
     * tokens and may not stop earlier ({@code min_tokens}), so it is still running when the cancel arrives.
     */
    public Request nextToCancel() {
        return make(counter.getAndIncrement(), true);
    }

    Request make(long n, boolean toCancel) {
        SplittableRandom r = new SplittableRandom(params.seed() * 0x9E3779B97F4A7C15L + n);
        int words = between(r, params.promptWordsMin(), params.promptWordsMax());
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < words; i++) {
            if (i > 0) text.append(' ');
            text.append(WORDS[r.nextInt(WORDS.length)]);
        }
        int maxTokens = toCancel ? params.cancelTokens() : between(r, params.maxTokensMin(), params.maxTokensMax());
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.putArray("messages").addObject().put("role", "user").put("content", text.toString());
        body.put("max_tokens", maxTokens);
        if (toCancel) body.put("min_tokens", maxTokens);
        body.put("temperature", 0);
        body.putObject("stream_options").put("include_usage", true);
        return new Request(n, Json.write(body), words, maxTokens);
    }

    /** The SSE request body: {@code body} with {@code "stream": true}. */
    public static String sseBody(Request r) {
        return r.body().substring(0, r.body().length() - 1) + ",\"stream\":true}";
    }

    /** The WebSocket frame that starts {@code r} under the client id {@code id}. */
    public static String wsFrame(String id, Request r) {
        ObjectNode frame = Json.MAPPER.createObjectNode().put("type", "chat.completions").put("id", id);
        frame.putRawValue("body", new RawValue(r.body()));  // already JSON: sent as the request was made
        return Json.write(frame);
    }

    /** The WebSocket frame that cancels the request with client id {@code id}. */
    public static String wsCancel(String id) {
        return Json.write(Json.MAPPER.createObjectNode().put("type", "cancel").put("id", id));
    }

    private static int between(SplittableRandom r, int min, int max) {
        return min == max ? min : min + r.nextInt(max - min + 1);
    }
}
