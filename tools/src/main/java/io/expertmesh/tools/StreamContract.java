package io.expertmesh.tools;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Set;

/**
 * What a healthy streamed chat completion must look like, over SSE or the WebSocket alike
 * (docs/http-api.md): chunks of one id, the role first, exactly one {@code finish_reason} ("stop" or
 * "length"), then the usage chunk that was asked for, with no more completion tokens than {@code max_tokens}.
 */
final class StreamContract {
    private static final Set<String> FINISH_REASONS = Set.of("stop", "length");

    private StreamContract() {}

    /** What is wrong with these chunks (in arrival order, the end marker excluded), or null when nothing is. */
    static String violation(List<JsonNode> chunks, int maxTokens) {
        if (chunks.isEmpty()) return "no chunk";
        JsonNode first = chunks.getFirst();
        String id = first.path("id").asText("");
        if (!id.startsWith("chatcmpl-")) return "first chunk has no chatcmpl- id: " + first;
        if (!"assistant".equals(first.path("choices").path(0).path("delta").path("role").asText(null))) {
            return "first chunk is not the assistant's role: " + first;
        }
        int finished = -1;
        for (int i = 0; i < chunks.size(); i++) {
            JsonNode c = chunks.get(i);
            if (!"chat.completion.chunk".equals(c.path("object").asText()) || !id.equals(c.path("id").asText())) {
                return "chunk " + i + " is not a chunk of " + id + ": " + c;
            }
            JsonNode reason = c.path("choices").path(0).path("finish_reason");
            if (reason.isTextual()) {
                if (finished >= 0) return "a second finish_reason in chunk " + i;
                if (!FINISH_REASONS.contains(reason.asText())) return "finish_reason " + reason;
                finished = i;
            }
        }
        if (finished < 0) return "no finish_reason";
        if (finished != chunks.size() - 2) return "expected exactly the usage chunk after the finish_reason, got " + (chunks.size() - 1 - finished);
        JsonNode usage = chunks.getLast().path("usage");
        if (!chunks.getLast().path("choices").isEmpty() || !usage.path("completion_tokens").canConvertToInt()) {
            return "last chunk is not the usage chunk: " + chunks.getLast();
        }
        if (usage.path("completion_tokens").asInt() > maxTokens) return "completion_tokens " + usage.path("completion_tokens") + " > max_tokens " + maxTokens;
        return null;
    }
}
