package io.expertmesh.model.generate;

import io.expertmesh.model.tokenizer.StreamingDetokenizer;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.util.List;

/**
 * The text of a generation as it grows: complete UTF-8 only, special tokens left out, and never any
 * part of a stop string. Text that might be the start of a stop string is held back until the next
 * tokens show it is not; when a stop string appears, the text before it is the final text.
 */
public final class OutputText {
    private final StreamingDetokenizer detokenizer;
    private final List<String> stopStrings;
    private final StringBuilder emitted = new StringBuilder();
    private String pending = "";
    private boolean stopped;

    public OutputText(Tokenizer tokenizer, List<String> stopStrings) {
        this.detokenizer = new StreamingDetokenizer(tokenizer, true);
        this.stopStrings = stopStrings;
    }

    /** Adds a generated token and returns the text that may now be shown (possibly empty). */
    public String push(int tokenId) {
        if (stopped) return "";
        pending += detokenizer.push(tokenId);
        return release(false);
    }

    /** Ends the text: releases what was held back and returns it. */
    public String finish() {
        if (stopped) return "";
        pending += detokenizer.flush();
        return release(true);
    }

    /** Whether a stop string has appeared. */
    public boolean stopped() {
        return stopped;
    }

    public String text() {
        return emitted.toString();
    }

    private String release(boolean all) {
        int stopAt = -1;
        for (String s : stopStrings) {
            int i = pending.indexOf(s);
            if (i >= 0 && (stopAt < 0 || i < stopAt)) stopAt = i;
        }
        String out;
        if (stopAt >= 0) {
            stopped = true;
            out = pending.substring(0, stopAt);
            pending = "";
        } else {
            int keep = all ? 0 : heldBack();
            out = pending.substring(0, pending.length() - keep);
            pending = pending.substring(pending.length() - keep);
        }
        emitted.append(out);
        return out;
    }

    /** Length of the longest end of the pending text that begins some stop string. */
    private int heldBack() {
        int best = 0;
        for (String s : stopStrings) {
            for (int len = Math.min(s.length() - 1, pending.length()); len > best; len--) {
                if (pending.endsWith(s.substring(0, len))) {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }
}
