package io.expertmesh.model.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns a growing list of token ids into text deltas that are always complete UTF-8: a token that
 * ends inside a multi-byte character (its bytes decode to U+FFFD so far) is held back until the
 * character completes. Each window is decoded from a few tokens back, so decoders that treat the
 * first token specially see the same context every time.
 */
public final class StreamingDetokenizer {
    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private final List<Integer> ids = new ArrayList<>();
    private int prefixOffset;
    private int readOffset;

    public StreamingDetokenizer(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /** Adds a token and returns the text it completes (possibly empty). */
    public String push(int id) {
        ids.add(id);
        String prefix = decode(prefixOffset, readOffset);
        String full = decode(prefixOffset, ids.size());
        if (full.length() > prefix.length() && !full.endsWith("\uFFFD")) {
            prefixOffset = readOffset;
            readOffset = ids.size();
            return full.substring(prefix.length());
        }
        return "";
    }

    /** The text still held back, with U+FFFD for any incomplete character; call once at the end. */
    public String flush() {
        String prefix = decode(prefixOffset, readOffset);
        String full = decode(prefixOffset, ids.size());
        prefixOffset = readOffset = ids.size();
        return full.length() > prefix.length() ? full.substring(prefix.length()) : "";
    }

    private String decode(int from, int to) {
        int[] window = new int[to - from];
        for (int i = from; i < to; i++) window[i - from] = ids.get(i);
        return tokenizer.decode(window, skipSpecialTokens);
    }
}
