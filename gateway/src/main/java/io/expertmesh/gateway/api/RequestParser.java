package io.expertmesh.gateway.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.guided.Guide;
import io.expertmesh.model.guided.GuideException;
import io.expertmesh.model.guided.GuideSpec;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.tokenizer.ChatMessage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * Turns a generation request body into a {@link GenerationRequest}, checking the type and range of
 * every known field. Unknown fields are ignored (friendlier to SDK upgrades); a known field with a
 * wrong type or value is an {@link ApiException} (400) whose {@code param} is the field's name.
 * JSON null for an optional field means the same as leaving it out.
 */
public final class RequestParser {
    public static final int MAX_MESSAGES = 1024;
    public static final int MAX_TOKENS_LIMIT = 1_000_000;
    public static final int MAX_STOP_STRINGS = 16;
    public static final int MAX_STOP_STRING_LENGTH = 256;
    public static final int MAX_STOP_TOKEN_IDS = 64;
    public static final int MAX_TOP_LOGPROBS = SamplingParams.MAX_LOGPROBS;
    public static final int MAX_COMPLETION_LOGPROBS = 5;
    public static final int MAX_CHOICES = 16;
    public static final int MAX_LOGIT_BIAS_ENTRIES = 1024;
    public static final int MAX_GUIDED_CHOICES = 256;
    public static final int MAX_GUIDED_CHOICE_LENGTH = 1024;

    public static final int MAX_TOOL_CALL_ID_LENGTH = 256;
    /** Longest {@code arguments} text of one tool call sent back in an assistant message. */
    public static final int MAX_TOOL_ARGUMENTS_CHARS = 64 * 1024;

    private static final List<String> STRUCTURED_OUTPUT_FIELDS = List.of("response_format", "guided_json", "guided_regex", "guided_choice");
    private static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool");

    private RequestParser() {}

    /** Validates {@code body} as a request to {@code endpoint}, compiling its guide, if any, on this thread. */
    public static GenerationRequest parse(Endpoint endpoint, JsonNode body) {
        return fields(endpoint, body).compiled();
    }

    /**
     * Validates {@code body} as a request to {@code endpoint} on this thread, and compiles its guide,
     * if any, on {@code compiler}: a large schema takes a second or more to compile, which the
     * caller's thread (an HTTP or WebSocket one) must not wait for. A guide that cannot be compiled
     * fails the stage with a 400.
     */
    public static CompletionStage<GenerationRequest> parse(Endpoint endpoint, JsonNode body, Executor compiler) {
        Unguided parsed = fields(endpoint, body);
        if (parsed.guide() == null) return CompletableFuture.completedFuture(parsed.request());
        return CompletableFuture.supplyAsync(parsed::compiled, compiler);
    }

    /** A validated request whose guide (compiling it may throw a 400) is not compiled yet; null when it asks for none. */
    private record Unguided(GenerationRequest request, Supplier<Guide> guide) {
        GenerationRequest compiled() {
            return guide == null ? request : request.withGuide(guide.get());
        }
    }

    private static Unguided fields(Endpoint endpoint, JsonNode body) {
        JsonFields f = JsonFields.ofBody(body);
        String model = f.string("model");

        List<ChatMessage> messages = null;
        Prompt prompt = new Prompt(null, null);
        switch (endpoint) {
            case CHAT -> messages = messages(f);
            case COMPLETION -> prompt = prompt(f);
        }

        Long maxTokens = f.integer("max_tokens", 1, MAX_TOKENS_LIMIT, "an integer in [1, " + MAX_TOKENS_LIMIT + "]");
        Long maxCompletionTokens = f.integer("max_completion_tokens", 1, MAX_TOKENS_LIMIT,
                "an integer in [1, " + MAX_TOKENS_LIMIT + "]");
        // max_completion_tokens is OpenAI's newer name; when a client sends both, it is the one meant.
        String maxName = maxCompletionTokens != null ? "max_completion_tokens" : "max_tokens";
        Long max = maxCompletionTokens != null ? maxCompletionTokens : maxTokens;
        long minCeiling = max != null ? max : MAX_TOKENS_LIMIT;
        Long minTokens = f.integer("min_tokens", 0, minCeiling, "an integer in [0, " + minCeiling + "]"
                + (max != null ? " (at most '" + maxName + "')" : ""));

        // A temperature or repetition penalty near 0 scales logits past what a float holds (NaN in sampling).
        float temperature = f.number("temperature", v -> v == 0 || v >= 0.001 && v <= 2, "0 or a number in [0.001, 2]", 1f);
        float topP = f.number("top_p", v -> v > 0 && v <= 1, "a number in (0, 1]", 1f);
        Long topK = f.integer("top_k", -1, Integer.MAX_VALUE, "-1 or 0 (off) or a positive integer");
        float minP = f.number("min_p", v -> v >= 0 && v <= 1, "a number in [0, 1]", 0f);
        float presencePenalty = f.number("presence_penalty", v -> v >= -2 && v <= 2, "a number in [-2, 2]", 0f);
        float frequencyPenalty = f.number("frequency_penalty", v -> v >= -2 && v <= 2, "a number in [-2, 2]", 0f);
        float repetitionPenalty = f.number("repetition_penalty", v -> v >= 0.01 && v <= 2, "a number in [0.01, 2]", 1f);
        Long seed = f.integer("seed", Long.MIN_VALUE, Long.MAX_VALUE, "a 64-bit integer");

        List<String> stop = stop(f);
        Set<Integer> stopTokenIds = f.get("stop_token_ids") == null ? Set.of()
                : new LinkedHashSet<>(tokenIdArray(f.get("stop_token_ids"), "stop_token_ids", MAX_STOP_TOKEN_IDS));

        Long n = f.integer("n", 1, MAX_CHOICES, "an integer in [1, " + MAX_CHOICES + "]");
        int choices = n == null ? 1 : n.intValue();
        Long bestOf = f.integer("best_of", 1, MAX_CHOICES, "an integer in [1, " + MAX_CHOICES + "]");
        if (bestOf != null && bestOf != choices) {
            // best_of > n would rank hidden candidates; only the trivial best_of == n is served.
            throw ApiException.badRequest("'best_of' must equal 'n' (" + choices + "), got " + bestOf
                    + "; ranking extra candidates is not supported", "best_of");
        }
        Map<Integer, Float> logitBias = logitBias(f);

        boolean logprobs;
        int topLogprobs;
        if (endpoint == Endpoint.CHAT) {
            logprobs = f.bool("logprobs", false);
            Long top = f.integer("top_logprobs", 0, MAX_TOP_LOGPROBS, "an integer in [0, " + MAX_TOP_LOGPROBS + "]");
            if (top != null && !logprobs) {
                throw ApiException.badRequest("'top_logprobs' requires 'logprobs' to be true", "top_logprobs");
            }
            topLogprobs = top == null ? 0 : top.intValue();
        } else {
            Long count = f.integer("logprobs", 0, MAX_COMPLETION_LOGPROBS,
                    "an integer in [0, " + MAX_COMPLETION_LOGPROBS + "] or null");
            logprobs = count != null;
            topLogprobs = count == null ? 0 : count.intValue();
        }

        boolean stream = f.bool("stream", false);
        boolean includeUsage = false;
        JsonNode streamOptions = f.get("stream_options");
        if (streamOptions != null) {
            if (!streamOptions.isObject()) throw f.invalid("stream_options", "an object or null", streamOptions);
            if (!stream) {
                throw ApiException.badRequest("stream_options is only allowed when stream is true", "stream_options");
            }
            includeUsage = JsonFields.nested(streamOptions, "stream_options", "stream_options").bool("include_usage", false);
        }

        String user = f.string("user");
        boolean echo = false;
        if (endpoint == Endpoint.COMPLETION) {
            echo = f.bool("echo", false);
            if (f.get("suffix") != null) throw ApiException.badRequest("'suffix' is not supported (only null)", "suffix");
        }
        ToolRequest tools = endpoint == Endpoint.CHAT ? ToolRequest.parse(f) : ToolRequest.NONE;
        rejectUnsupported(endpoint, f);
        Supplier<Guide> guide = tools.forcedTools().isEmpty() ? guide(f) : toolGuide(f, tools.forcedTools());

        return new Unguided(new GenerationRequest(endpoint, model, messages, prompt.text(), prompt.ids(),
                max == null ? null : max.intValue(), minTokens == null ? 0 : minTokens.intValue(),
                temperature, topP, topK == null || topK == -1 ? 0 : topK.intValue(), minP,
                presencePenalty, frequencyPenalty, repetitionPenalty, seed,
                stop, stopTokenIds, logitBias, logprobs, topLogprobs, choices, echo, stream, includeUsage, user, null, tools), guide);
    }

    /**
     * The guide of a forcing {@code tool_choice}: a call to one of {@code forced}, its arguments held
     * to that tool's schema. A schema the guide cannot hold to is a 400 naming the tool, and so is
     * structured output asked for beside it (the call is the output).
     */
    private static Supplier<Guide> toolGuide(JsonFields f, List<JsonNode> forced) {
        for (String name : STRUCTURED_OUTPUT_FIELDS) {
            JsonNode v = f.get(name);
            if (v != null && !(name.equals("response_format") && isTextFormat(v))) {
                throw ApiException.badRequest("'tool_choice' forces a tool call, which cannot be combined with '" + name + "'", "tool_choice");
            }
        }
        return () -> {
            List<GuideSpec> calls = new ArrayList<>(forced.size());
            for (JsonNode tool : forced) {
                GuideSpec call = ToolRequest.callGuide(tool);
                try {
                    Guide.compile(call); // each tool on its own first, so that an error names it
                } catch (GuideException e) {
                    throw ApiException.badRequest("the parameters of the tool \"" + ToolRequest.name(tool) + "\" cannot be forced: "
                            + e.getMessage(), "tools");
                }
                calls.add(call);
            }
            try {
                return Guide.compile(calls.size() == 1 ? calls.getFirst() : new GuideSpec.OneOf(calls));
            } catch (GuideException e) {
                throw ApiException.badRequest("the tools cannot be forced together: " + e.getMessage(), "tools");
            }
        };
    }

    /**
     * Structured output: OpenAI's {@code response_format} ({@code text}, {@code json_object},
     * {@code json_schema}) or one of vLLM's {@code guided_json}, {@code guided_regex},
     * {@code guided_choice}; at most one of them, checked here. Compiling it (an unsupported schema
     * keyword or an oversized guide is a 400 naming the field) is left to the returned supplier.
     */
    private static Supplier<Guide> guide(JsonFields f) {
        List<String> given = new ArrayList<>();
        for (String name : STRUCTURED_OUTPUT_FIELDS) {
            JsonNode v = f.get(name);
            if (v != null && !(name.equals("response_format") && isTextFormat(v))) given.add(name);
        }
        if (given.isEmpty()) {
            JsonNode format = f.get("response_format");
            if (format != null && !format.isObject()) throw f.invalid("response_format", "an object with 'type'", format);
            return null;
        }
        if (given.size() > 1) {
            throw ApiException.badRequest("only one of " + String.join(", ", given) + " may be given", given.get(1));
        }
        String param = given.getFirst();
        JsonNode v = f.get(param);
        GuideSpec spec = switch (param) {
            case "response_format" -> responseFormat(f, v);
            case "guided_json" -> new GuideSpec.JsonSchema(schemaNode(v, "guided_json"));
            case "guided_regex" -> {
                if (!v.isTextual()) throw f.invalid("guided_regex", "a string", v);
                yield new GuideSpec.Regex(v.textValue());
            }
            default -> new GuideSpec.Choice(choices(f, v));
        };
        return () -> {
            try {
                return Guide.compile(spec);
            } catch (GuideException e) {
                throw ApiException.badRequest("'" + param + "': " + e.getMessage(), param);
            }
        };
    }

    private static boolean isTextFormat(JsonNode v) {
        return v.isObject() && "text".equals(v.path("type").textValue());
    }

    private static GuideSpec responseFormat(JsonFields f, JsonNode v) {
        String expected = "an object with 'type' one of text, json_object, json_schema";
        if (!v.isObject()) throw f.invalid("response_format", expected, v);
        JsonFields format = JsonFields.nested(v, "response_format", "response_format");
        JsonNode type = format.get("type");
        if (type == null || !type.isTextual()) throw format.invalid("type", "one of text, json_object, json_schema", type);
        return switch (type.textValue()) {
            case "json_object" -> new GuideSpec.JsonObject();
            case "json_schema" -> {
                JsonNode js = format.get("json_schema");
                if (js == null || !js.isObject()) throw format.invalid("json_schema", "an object with 'name' and 'schema'", js);
                JsonFields named = JsonFields.nested(js, "response_format", format.path("json_schema"));
                named.string("name");
                named.bool("strict", false);
                JsonNode schema = named.get("schema");
                if (schema == null) throw named.invalid("schema", "a JSON schema object", null);
                yield new GuideSpec.JsonSchema(schemaNode(schema, "response_format"));
            }
            default -> throw format.invalid("type", "one of text, json_object, json_schema", type);
        };
    }

    /** A schema object, or (as vLLM takes {@code guided_json}) a string holding one. */
    private static JsonNode schemaNode(JsonNode v, String param) {
        JsonNode schema = v;
        if (v.isTextual()) {
            try {
                schema = Json.MAPPER.readTree(v.textValue());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw ApiException.badRequest("'" + param + "' holds a string that is not JSON: " + e.getOriginalMessage(), param);
            }
        }
        if (!schema.isObject() && !schema.isBoolean()) {
            throw ApiException.badRequest("'" + param + "' must hold a JSON schema object, got " + JsonFields.quote(v), param);
        }
        return schema;
    }

    private static List<String> choices(JsonFields f, JsonNode v) {
        String expected = "a non-empty array of at most " + MAX_GUIDED_CHOICES + " non-empty strings of at most "
                + MAX_GUIDED_CHOICE_LENGTH + " characters";
        if (!v.isArray() || v.isEmpty() || v.size() > MAX_GUIDED_CHOICES) throw f.invalid("guided_choice", expected, v);
        List<String> choices = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            JsonNode c = v.get(i);
            if (!c.isTextual() || c.textValue().isEmpty() || c.textValue().length() > MAX_GUIDED_CHOICE_LENGTH) {
                throw JsonFields.invalid("guided_choice", "guided_choice[" + i + "]", expected, c);
            }
            choices.add(c.textValue());
        }
        return choices;
    }

    /**
     * {@code logit_bias}: an object from token ids (decimal strings) to numbers in [-100, 100]. Whether
     * each id is in the vocabulary is checked where the vocabulary is known.
     */
    private static Map<Integer, Float> logitBias(JsonFields f) {
        JsonNode node = f.get("logit_bias");
        if (node == null) return Map.of();
        if (!node.isObject()) throw f.invalid("logit_bias", "an object from token ids to numbers in [-100, 100]", node);
        if (node.size() > MAX_LOGIT_BIAS_ENTRIES) {
            throw ApiException.badRequest("'logit_bias' must have at most " + MAX_LOGIT_BIAS_ENTRIES + " entries, got " + node.size(),
                    "logit_bias");
        }
        Map<Integer, Float> bias = new HashMap<>();
        for (var e : node.properties()) {
            String key = e.getKey();
            int id;
            try {
                id = key.matches("[0-9]{1,10}") ? Integer.parseInt(key) : -1;
            } catch (NumberFormatException tooLarge) {
                id = -1;
            }
            if (id < 0) {
                throw ApiException.badRequest("'logit_bias' keys must be token ids (integers >= 0 as strings), got "
                        + JsonFields.quote(TextNode.valueOf(key)), "logit_bias");
            }
            JsonNode v = e.getValue();
            float value = v.isNumber() ? (float) v.doubleValue() : Float.NaN;
            if (!(Math.abs(value) <= SamplingParams.MAX_LOGIT_BIAS)) {
                throw JsonFields.invalid("logit_bias", "logit_bias." + key, "a number in [-100, 100]", v);
            }
            bias.put(id, value);
        }
        return bias;
    }

    /** The required {@code messages} of a chat (or tokenize) body. */
    static List<ChatMessage> messages(JsonFields f) {
        JsonNode node = f.get("messages");
        String expected = "a non-empty array of messages";
        if (node == null || !node.isArray() || node.isEmpty()) throw f.invalid("messages", expected, node);
        if (node.size() > MAX_MESSAGES) {
            throw ApiException.badRequest("'messages' must have at most " + MAX_MESSAGES + " entries, got "
                    + node.size(), "messages");
        }
        List<ChatMessage> messages = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) messages.add(message(node.get(i), "messages[" + i + "]"));
        return messages;
    }

    private static ChatMessage message(JsonNode node, String path) {
        if (!node.isObject()) {
            throw JsonFields.invalid("messages", path, "an object with 'role' and 'content'", node);
        }
        JsonFields m = JsonFields.nested(node, "messages", path);
        JsonNode roleNode = m.get("role");
        String expectedRole = "one of system, user, assistant, tool";
        if (roleNode == null || !roleNode.isTextual()) throw m.invalid("role", expectedRole, roleNode);
        String role = roleNode.textValue();
        if (!ROLES.contains(role)) throw m.invalid("role", expectedRole, roleNode);
        List<ChatMessage.ToolCall> toolCalls = role.equals("assistant") ? toolCalls(m) : List.of();
        String toolCallId = null;
        if (role.equals("tool")) {
            JsonNode id = m.get("tool_call_id");
            if (id == null || !id.isTextual() || id.textValue().isEmpty() || id.textValue().length() > MAX_TOOL_CALL_ID_LENGTH) {
                throw m.invalid("tool_call_id", "the id of the tool call this message answers (1 to " + MAX_TOOL_CALL_ID_LENGTH
                        + " characters)", id);
            }
            toolCallId = id.textValue();
        }
        return new ChatMessage(role, content(m, role), toolCalls, toolCallId);
    }

    /** A message's text: a string, or its text parts joined. */
    private static String content(JsonFields m, String role) {
        JsonNode content = m.get("content");
        String expectedContent = "a string or an array of text parts";
        if (content == null) {
            // An assistant turn may have no content (OpenAI allows it, e.g. beside tool_calls); the template sees "".
            if (role.equals("assistant")) return "";
            throw m.invalid("content", expectedContent, null);
        }
        if (content.isTextual()) return content.textValue();
        if (!content.isArray()) throw m.invalid("content", expectedContent, content);
        StringBuilder text = new StringBuilder();
        for (int j = 0; j < content.size(); j++) {
            JsonNode part = content.get(j);
            String partPath = m.path("content") + "[" + j + "]";
            if (!part.isObject()) {
                throw JsonFields.invalid("messages", partPath, "an object {\"type\":\"text\",\"text\":...}", part);
            }
            JsonFields p = JsonFields.nested(part, "messages", partPath);
            JsonNode type = p.get("type");
            if (type == null || !type.asText().equals("text")) {
                throw ApiException.badRequest("only text content is supported: '" + p.path("type") + "' must be \"text\", got "
                        + JsonFields.quote(type), "messages");
            }
            JsonNode partText = p.get("text");
            if (partText == null || !partText.isTextual()) throw p.invalid("text", "a string", partText);
            text.append(partText.textValue());
        }
        return text.toString();
    }

    /** An assistant message's {@code tool_calls}: the calls it made, sent back so the template can show them. */
    private static List<ChatMessage.ToolCall> toolCalls(JsonFields m) {
        JsonNode node = m.get("tool_calls");
        if (node == null) return List.of();
        if (!node.isArray()) throw m.invalid("tool_calls", "an array of tool calls", node);
        if (node.size() > ToolRequest.MAX_TOOLS) {
            throw ApiException.badRequest("'" + m.path("tool_calls") + "' must have at most " + ToolRequest.MAX_TOOLS + " entries, got "
                    + node.size(), "messages");
        }
        List<ChatMessage.ToolCall> calls = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            JsonNode call = node.get(i);
            String path = m.path("tool_calls") + "[" + i + "]";
            String expected = "an object {\"id\":...,\"type\":\"function\",\"function\":{\"name\":...,\"arguments\":...}}";
            if (!call.isObject()) throw JsonFields.invalid("messages", path, expected, call);
            JsonFields c = JsonFields.nested(call, "messages", path);
            JsonNode id = c.get("id");
            if (id == null || !id.isTextual() || id.textValue().isEmpty() || id.textValue().length() > MAX_TOOL_CALL_ID_LENGTH) {
                throw c.invalid("id", "a string of 1 to " + MAX_TOOL_CALL_ID_LENGTH + " characters", id);
            }
            JsonNode type = c.get("type");
            if (type != null && !"function".equals(type.textValue())) throw c.invalid("type", "\"function\"", type);
            JsonNode function = c.get("function");
            if (function == null || !function.isObject()) throw c.invalid("function", "an object with 'name' and 'arguments'", function);
            JsonFields fn = JsonFields.nested(function, "messages", c.path("function"));
            String name = ToolRequest.name(fn);
            JsonNode arguments = fn.get("arguments");
            if (arguments == null || !arguments.isTextual() || arguments.textValue().length() > MAX_TOOL_ARGUMENTS_CHARS) {
                throw fn.invalid("arguments", "a string of JSON of at most " + MAX_TOOL_ARGUMENTS_CHARS + " characters", arguments);
            }
            calls.add(new ChatMessage.ToolCall(id.textValue(), name, arguments.textValue()));
        }
        return calls;
    }

    /** A completion prompt: text or token ids, exactly one non-null. */
    private record Prompt(String text, int[] ids) {}

    private static Prompt prompt(JsonFields f) {
        JsonNode node = f.get("prompt");
        String expected = "a non-empty string, a non-empty array of token ids, or an array with one string";
        if (node != null && node.isTextual() && !node.textValue().isEmpty()) return new Prompt(node.textValue(), null);
        if (node == null || !node.isArray() || node.isEmpty()) throw f.invalid("prompt", expected, node);
        JsonNode first = node.get(0);
        if (first.isTextual() || first.isArray()) {
            // The batch forms: ["text", ...] and [[ids], ...]; one entry is one prompt.
            if (node.size() > 1) throw ApiException.badRequest("only one prompt per request is supported", "prompt");
            if (first.isTextual() && !first.textValue().isEmpty()) return new Prompt(first.textValue(), null);
            if (first.isArray() && !first.isEmpty()) return new Prompt(null, tokenIds(first, "prompt", "prompt[0]"));
            throw JsonFields.invalid("prompt", "prompt[0]", "a non-empty string or array of token ids", first);
        }
        return new Prompt(null, tokenIds(node, "prompt", "prompt"));
    }

    /** {@code stop}: one string or an array of them, none empty; absent is no stop strings. */
    private static List<String> stop(JsonFields f) {
        JsonNode node = f.get("stop");
        if (node == null) return List.of();
        String expected = "a non-empty string of at most " + MAX_STOP_STRING_LENGTH + " characters";
        if (node.isTextual()) {
            checkStopString(node, "stop", expected);
            return List.of(node.textValue());
        }
        if (!node.isArray()) throw f.invalid("stop", "a string or an array of strings", node);
        if (node.size() > MAX_STOP_STRINGS) {
            throw ApiException.badRequest("'stop' must have at most " + MAX_STOP_STRINGS + " strings, got " + node.size(),
                    "stop");
        }
        List<String> stop = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            checkStopString(node.get(i), "stop[" + i + "]", expected);
            stop.add(node.get(i).textValue());
        }
        return stop;
    }

    private static void checkStopString(JsonNode s, String path, String expected) {
        if (!s.isTextual() || s.textValue().isEmpty() || s.textValue().length() > MAX_STOP_STRING_LENGTH) {
            throw JsonFields.invalid("stop", path, expected, s);
        }
    }

    /** An array of at most {@code maxEntries} token ids under {@code param}. */
    static List<Integer> tokenIdArray(JsonNode node, String param, int maxEntries) {
        if (node.size() > maxEntries) {
            throw ApiException.badRequest("'" + param + "' must have at most " + maxEntries + " entries, got "
                    + node.size(), param);
        }
        List<Integer> ids = new ArrayList<>(node.size());
        for (int id : tokenIds(node, param, param)) ids.add(id);
        return ids;
    }

    /** The token ids in array {@code node}, each an integer in [0, 2^31). */
    static int[] tokenIds(JsonNode node, String param, String path) {
        if (!node.isArray()) throw JsonFields.invalid(param, path, "an array of token ids (integers >= 0)", node);
        int[] ids = new int[node.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode el = node.get(i);
            Long id = JsonFields.exactLong(el);
            if (id == null || id < 0 || id > Integer.MAX_VALUE) {
                throw JsonFields.invalid(param, path + "[" + i + "]", "a token id (an integer >= 0)", el);
            }
            ids[i] = id.intValue();
        }
        return ids;
    }

    /**
     * Tools on the completions API and the deprecated {@code functions} are not implemented; silently
     * ignoring them would hand the client plain text where it expects a call. Values that ask for
     * nothing are let through.
     */
    private static void rejectUnsupported(Endpoint endpoint, JsonFields f) {
        List<String> names = endpoint == Endpoint.CHAT ? List.of("functions", "function_call")
                : List.of("tools", "tool_choice", "functions", "function_call");
        for (String name : names) {
            JsonNode v = f.get(name);
            if (v != null && !asksForNothing(name, v)) {
                String hint = name.startsWith("function") ? " (use 'tools' and 'tool_choice')" : "";
                throw ApiException.badRequest("'" + name + "' is not supported" + hint + ", got " + JsonFields.quote(v), name);
            }
        }
    }

    private static boolean asksForNothing(String name, JsonNode v) {
        return switch (name) {
            case "tools", "functions" -> v.isArray() && v.isEmpty();
            case "tool_choice", "function_call" -> v.isTextual() && v.textValue().equals("none");
            default -> false;
        };
    }
}
