package io.expertmesh.gateway.api;

/** Finding a marker such as {@code </think>} in text that arrives in pieces. */
final class Markers {
    private Markers() {}

    /**
     * How many characters at the end of {@code text} must wait for more text because they could be
     * the start of {@code marker}: the longest proper prefix of the marker that {@code text} ends with.
     */
    static int heldBack(CharSequence text, String marker) {
        for (int n = Math.min(marker.length() - 1, text.length()); n > 0; n--) {
            if (marker.regionMatches(0, text.toString(), text.length() - n, n)) return n;
        }
        return 0;
    }

    /** Index after the run of newlines at the start of {@code text} from {@code from}. */
    static int skipNewlines(CharSequence text, int from) {
        int i = from;
        while (i < text.length() && text.charAt(i) == '\n') i++;
        return i;
    }
}
