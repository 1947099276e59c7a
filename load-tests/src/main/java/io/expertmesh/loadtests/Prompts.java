package io.expertmesh.loadtests;

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
        StringBuilder b = new StringBuilder("{\"messages\":[{\"role\":\"user\",\"content\":");
        Json.quote(b, text.toString());
        b.append("}],\"max_tokens\":").append(maxTokens);
        if (toCancel) b.append(",\"min_tokens\":").append(maxTokens);
        b.append(",\"temperature\":0,\"stream_options\":{\"include_usage\":true}}");
        return new Request(n, b.toString(), words, maxTokens);
    }

    /** The SSE request body: {@code body} with {@code "stream": true}. */
    public static String sseBody(Request r) {
        return r.body().substring(0, r.body().length() - 1) + ",\"stream\":true}";
    }

    /** The WebSocket frame that starts {@code r} under the client id {@code id}. */
    public static String wsFrame(String id, Request r) {
        StringBuilder b = new StringBuilder("{\"type\":\"chat.completions\",\"id\":");
        Json.quote(b, id);
        return b.append(",\"body\":").append(r.body()).append('}').toString();
    }

    /** The WebSocket frame that cancels the request with client id {@code id}. */
    public static String wsCancel(String id) {
        StringBuilder b = new StringBuilder("{\"type\":\"cancel\",\"id\":");
        Json.quote(b, id);
        return b.append('}').toString();
    }

    private static int between(SplittableRandom r, int min, int max) {
        return min == max ? min : min + r.nextInt(max - min + 1);
    }
}
