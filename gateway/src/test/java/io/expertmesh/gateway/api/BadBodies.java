package io.expertmesh.gateway.api;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Request bodies the API must refuse with 400, with the {@code param} and a fragment of the message
 * each error must carry. Shared with the HTTP tests, which send the same bodies over a socket.
 */
public final class BadBodies {
    private static final String CHAT_BASE = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
    private static final String COMPLETION_BASE = "\"prompt\":\"hi\"";

    private BadBodies() {}

    /**
     * One refused body.
     *
     * @param name     what is wrong, for test names
     * @param endpoint where to send it
     * @param json     the body
     * @param param    the expected {@code error.param}, null when the error names no field
     * @param fragment text the expected {@code error.message} contains
     */
    public record BadBody(String name, Endpoint endpoint, String json, String param, String fragment) {
        @Override
        public String toString() {
            return endpoint + ": " + name;
        }
    }

    /** Every refused body, chat and completions. */
    public static List<BadBody> all() {
        List<BadBody> all = new ArrayList<>();
        all.addAll(body());
        all.addAll(chat());
        all.addAll(sampling());
        all.addAll(completion());
        return all;
    }

    private static BadBody chat(String name, String fields, String param, String fragment) {
        return new BadBody(name, Endpoint.CHAT, "{" + CHAT_BASE + (fields.isEmpty() ? "" : "," + fields) + "}", param, fragment);
    }

    private static String tool(String name) {
        return "{\"type\":\"function\",\"function\":{\"name\":\"" + name + "\"}}";
    }

    private static BadBody chatRaw(String name, String json, String param, String fragment) {
        return new BadBody(name, Endpoint.CHAT, json, param, fragment);
    }

    private static BadBody completion(String name, String fields, String param, String fragment) {
        return new BadBody(name, Endpoint.COMPLETION, "{" + COMPLETION_BASE + (fields.isEmpty() ? "" : "," + fields) + "}",
                param, fragment);
    }

    private static BadBody completionRaw(String name, String json, String param, String fragment) {
        return new BadBody(name, Endpoint.COMPLETION, json, param, fragment);
    }

    private static String repeat(String element, int times) {
        return String.join(",", Collections.nCopies(times, element));
    }

    static List<BadBody> body() {
        return List.of(
                chatRaw("body is an array", "[]", null, "request body must be a JSON object"),
                chatRaw("body is a string", "\"hello\"", null, "request body must be a JSON object"),
                completionRaw("body is a number", "42", null, "request body must be a JSON object"));
    }

    static List<BadBody> chat() {
        String user = "{\"role\":\"user\",\"content\":\"hi\"}";
        return List.of(
                chatRaw("messages missing", "{}", "messages", "'messages' must be a non-empty array of messages, got null"),
                chatRaw("messages empty", "{\"messages\":[]}", "messages", "non-empty array"),
                chatRaw("messages is a string", "{\"messages\":\"hi\"}", "messages", "got \"hi\""),
                chatRaw("message is a string", "{\"messages\":[\"hi\"]}", "messages", "'messages[0]' must be an object"),
                chatRaw("role missing", "{\"messages\":[{\"content\":\"hi\"}]}", "messages", "'messages[0].role' must be one of"),
                chatRaw("tool message without tool_call_id", "{\"messages\":[" + user + ",{\"role\":\"tool\",\"content\":\"x\"}]}",
                        "messages", "'messages[1].tool_call_id' must be the id of the tool call this message answers"),
                chatRaw("tool_call_id too long", "{\"messages\":[" + user + ",{\"role\":\"tool\",\"content\":\"x\",\"tool_call_id\":\""
                        + "i".repeat(RequestParser.MAX_TOOL_CALL_ID_LENGTH + 1) + "\"}]}", "messages", "'messages[1].tool_call_id'"),
                chatRaw("assistant tool_calls not an array", "{\"messages\":[" + user + ",{\"role\":\"assistant\",\"tool_calls\":{}}]}",
                        "messages", "'messages[1].tool_calls' must be an array of tool calls"),
                chatRaw("assistant tool call arguments not a string", "{\"messages\":[" + user + ",{\"role\":\"assistant\",\"tool_calls\":"
                        + "[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":{}}}]}]}", "messages",
                        "'messages[1].tool_calls[0].function.arguments' must be a string of JSON"),
                chatRaw("assistant tool call name invalid", "{\"messages\":[" + user + ",{\"role\":\"assistant\",\"tool_calls\":"
                        + "[{\"id\":\"c\",\"function\":{\"name\":\"a b\",\"arguments\":\"{}\"}}]}]}", "messages",
                        "'messages[1].tool_calls[0].function.name' must be 1 to 64 letters"),
                chatRaw("assistant tool call without id", "{\"messages\":[" + user + ",{\"role\":\"assistant\",\"tool_calls\":"
                        + "[{\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}]}", "messages", "'messages[1].tool_calls[0].id'"),
                chatRaw("role function", "{\"messages\":[{\"role\":\"function\",\"content\":\"x\"}]}", "messages", "\"function\""),
                chatRaw("role unknown", "{\"messages\":[{\"role\":\"narrator\",\"content\":\"x\"}]}", "messages", "got \"narrator\""),
                chatRaw("role is a number", "{\"messages\":[{\"role\":1,\"content\":\"x\"}]}", "messages", "got 1"),
                chatRaw("user content missing", "{\"messages\":[{\"role\":\"user\"}]}", "messages",
                        "'messages[0].content' must be a string or an array of text parts, got null"),
                chatRaw("system content null", "{\"messages\":[{\"role\":\"system\",\"content\":null}]}", "messages",
                        "'messages[0].content'"),
                chatRaw("content is a number", "{\"messages\":[{\"role\":\"user\",\"content\":7}]}", "messages", "got 7"),
                chatRaw("image content part", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                        + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x\"}}]}]}", "messages",
                        "only text content is supported"),
                chatRaw("text part without text", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
                        "messages", "'messages[0].content[0].text' must be a string"),
                chatRaw("content part is a string", "{\"messages\":[{\"role\":\"user\",\"content\":[\"hi\"]}]}", "messages",
                        "'messages[0].content[0]' must be an object"),
                chatRaw("too many messages", "{\"messages\":[" + repeat(user, RequestParser.MAX_MESSAGES + 1) + "]}", "messages",
                        "at most 1024 entries, got 1025"),
                chat("model is a number", "\"model\":5", "model", "'model' must be a string, got 5"),
                chat("logprobs is a string", "\"logprobs\":\"yes\"", "logprobs", "'logprobs' must be a boolean"),
                chat("top_logprobs above 20", "\"logprobs\":true,\"top_logprobs\":21", "top_logprobs", "in [0, 20], got 21"),
                chat("top_logprobs without logprobs", "\"top_logprobs\":2", "top_logprobs", "requires 'logprobs' to be true"),
                chat("tools not an array", "\"tools\":{}", "tools", "'tools' must be an array of tools"),
                chat("too many tools", "\"tools\":[" + repeat(tool("f"), ToolRequest.MAX_TOOLS + 1) + "]", "tools",
                        "'tools' must have at most 128 entries, got 129"),
                chat("tool type not function", "\"tools\":[{\"type\":\"retrieval\",\"function\":{\"name\":\"f\"}}]", "tools",
                        "'tools[0].type' must be \"function\""),
                chat("tool without function", "\"tools\":[{\"type\":\"function\"}]", "tools", "'tools[0].function' must be an object"),
                chat("tool name too long", "\"tools\":[" + tool("f".repeat(ToolRequest.MAX_NAME_LENGTH + 1)) + "]", "tools",
                        "'tools[0].function.name' must be 1 to 64 letters"),
                chat("tool name with a space", "\"tools\":[" + tool("get weather") + "]", "tools", "'tools[0].function.name'"),
                chat("two tools with one name", "\"tools\":[" + tool("f") + "," + tool("f") + "]", "tools", "two tools are named \"f\""),
                chat("tool parameters not an object", "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":[]}}]",
                        "tools", "'tools[0].function.parameters' must be a JSON Schema object"),
                chat("tool schema too large", "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":\""
                        + "d".repeat(ToolRequest.MAX_TOOL_CHARS) + "\"}}]", "tools", "'tools[0]' must be at most 32768 characters"),
                chat("tool schema too deep", "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":"
                        + "{\"a\":".repeat(40) + "1" + "}".repeat(40) + "}}]", "tools", "nested more than 32 levels"),
                chat("tool_choice unknown word", "\"tools\":[" + tool("f") + "],\"tool_choice\":\"always\"", "tool_choice",
                        "'tool_choice' must be \"none\", \"auto\", \"required\""),
                chat("tool_choice names a missing tool", "\"tools\":[" + tool("f") + "],\"tool_choice\":{\"type\":\"function\","
                        + "\"function\":{\"name\":\"g\"}}", "tool_choice", "\"g\", which is not in 'tools'"),
                chat("tool_choice object without function", "\"tools\":[" + tool("f") + "],\"tool_choice\":{\"type\":\"function\"}",
                        "tool_choice", "'tool_choice.function' must be an object"),
                chat("forced tool with an unsupported schema keyword", "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
                        + "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"format\":\"date\"}}}}}],"
                        + "\"tool_choice\":\"required\"", "tools",
                        "the parameters of the tool \"f\" cannot be forced: unsupported JSON schema keyword(s) at #/properties/a: format"),
                chat("forced tool with response_format", "\"tools\":[" + tool("f") + "],\"tool_choice\":\"required\","
                        + "\"response_format\":{\"type\":\"json_object\"}", "tool_choice",
                        "'tool_choice' forces a tool call, which cannot be combined with 'response_format'"),
                chat("tool_choice required without tools", "\"tool_choice\":\"required\"", "tool_choice",
                        "needs at least one tool"),
                chat("functions", "\"functions\":[{\"name\":\"f\"}]", "functions", "'functions' is not supported (use 'tools'"),
                chat("response_format unknown type", "\"response_format\":{\"type\":\"yaml\"}", "response_format",
                        "'response_format.type' must be one of text, json_object, json_schema, got \"yaml\""),
                chat("response_format json_schema without schema", "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\"}}",
                        "response_format", "'response_format.json_schema.schema' must be a JSON schema object"),
                chat("json_schema with unsupported keywords",
                        "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":"
                                + "{\"type\":\"string\",\"pattern\":\"a\",\"format\":\"email\"}}}",
                        "response_format", "unsupported JSON schema keyword(s) at #: format, pattern"),
                chat("guided_json too large", "\"guided_json\":{\"type\":\"array\",\"maxItems\":100000}", "guided_json",
                        "'maxItems' at # is over this server's limit of 256"),
                chat("guided_json a non-JSON string", "\"guided_json\":\"{nope\"", "guided_json", "holds a string that is not JSON"),
                chat("guided_regex bad syntax", "\"guided_regex\":\"(a\"", "guided_regex", "invalid regex at offset 2: '(' without ')'"),
                chat("guided_regex too long", "\"guided_regex\":\"" + "a".repeat(4097) + "\"", "guided_regex",
                        "longer than 4096 characters"),
                chat("guided_regex automaton too large", "\"guided_regex\":\"(([a-z]{256}){256}){256}\"", "guided_regex",
                        "the guide is too large"),
                chat("guided_choice empty", "\"guided_choice\":[]", "guided_choice", "a non-empty array of at most 256"),
                chat("guided_choice not strings", "\"guided_choice\":[\"a\",1]", "guided_choice", "'guided_choice[1]' must be"),
                chat("two guides", "\"guided_regex\":\"a\",\"guided_choice\":[\"a\"]", "guided_choice",
                        "only one of guided_regex, guided_choice may be given"));
    }

    /** Sampling and streaming fields, which both endpoints share (sent to chat). */
    static List<BadBody> sampling() {
        String long257 = "\"" + "x".repeat(257) + "\"";
        return List.of(
                chat("max_tokens as a string", "\"max_tokens\":\"5\"", "max_tokens", "'max_tokens' must be an integer in [1, 1000000], got \"5\""),
                chat("max_tokens zero", "\"max_tokens\":0", "max_tokens", "got 0"),
                chat("max_tokens fractional", "\"max_tokens\":1.5", "max_tokens", "got 1.5"),
                chat("max_tokens too large", "\"max_tokens\":1000001", "max_tokens", "got 1000001"),
                chat("max_tokens boolean", "\"max_tokens\":true", "max_tokens", "got true"),
                chat("max_completion_tokens negative", "\"max_completion_tokens\":-1", "max_completion_tokens", "got -1"),
                chat("min_tokens negative", "\"min_tokens\":-1", "min_tokens", "'min_tokens' must be an integer in [0, "),
                chat("min_tokens above max_tokens", "\"max_tokens\":10,\"min_tokens\":11", "min_tokens",
                        "in [0, 10] (at most 'max_tokens'), got 11"),
                chat("min_tokens above max_completion_tokens", "\"max_completion_tokens\":10,\"max_tokens\":50,\"min_tokens\":20",
                        "min_tokens", "at most 'max_completion_tokens'"),
                chat("temperature as a word", "\"temperature\":\"hot\"", "temperature",
                        "'temperature' must be 0 or a number in [0.001, 2], got \"hot\""),
                chat("temperature as a numeric string", "\"temperature\":\"0.5\"", "temperature", "got \"0.5\""),
                chat("temperature above 2", "\"temperature\":2.5", "temperature", "got 2.5"),
                chat("temperature negative", "\"temperature\":-0.1", "temperature", "got -0.1"),
                chat("temperature just above 0", "\"temperature\":1e-45", "temperature", "got 1.0E-45"),
                chat("top_p zero", "\"top_p\":0", "top_p", "'top_p' must be a number in (0, 1], got 0"),
                chat("top_p above 1", "\"top_p\":1.1", "top_p", "got 1.1"),
                chat("top_p too small for a float", "\"top_p\":1e-50", "top_p", "got 1.0E-50"),
                chat("top_k -2", "\"top_k\":-2", "top_k", "'top_k' must be -1 or 0 (off) or a positive integer, got -2"),
                chat("top_k fractional", "\"top_k\":1.5", "top_k", "got 1.5"),
                chat("min_p above 1", "\"min_p\":1.5", "min_p", "'min_p' must be a number in [0, 1]"),
                chat("presence_penalty above 2", "\"presence_penalty\":3", "presence_penalty", "in [-2, 2], got 3"),
                chat("frequency_penalty below -2", "\"frequency_penalty\":-2.5", "frequency_penalty", "got -2.5"),
                chat("repetition_penalty zero", "\"repetition_penalty\":0", "repetition_penalty", "in [0.01, 2], got 0"),
                chat("repetition_penalty just above 0", "\"repetition_penalty\":1e-45", "repetition_penalty", "got 1.0E-45"),
                chat("repetition_penalty above 2", "\"repetition_penalty\":2.5", "repetition_penalty", "got 2.5"),
                chat("seed fractional", "\"seed\":1.5", "seed", "'seed' must be a 64-bit integer, got 1.5"),
                chat("seed beyond long", "\"seed\":9223372036854775808", "seed", "got 9223372036854775808"),
                chat("seed as a string", "\"seed\":\"42\"", "seed", "got \"42\""),
                chat("stop is a number", "\"stop\":5", "stop", "'stop' must be a string or an array of strings, got 5"),
                chat("stop is empty", "\"stop\":\"\"", "stop", "'stop' must be a non-empty string"),
                chat("stop has an empty string", "\"stop\":[\"a\",\"\"]", "stop", "'stop[1]' must be a non-empty string"),
                chat("stop has a number", "\"stop\":[1]", "stop", "'stop[0]'"),
                chat("stop has 17 strings", "\"stop\":[" + repeat("\"s\"", 17) + "]", "stop", "at most 16 strings, got 17"),
                chat("stop string too long", "\"stop\":[" + long257 + "]", "stop", "at most 256 characters, got \"xxxx"),
                chat("stop_token_ids negative", "\"stop_token_ids\":[2,-1]", "stop_token_ids",
                        "'stop_token_ids[1]' must be a token id (an integer >= 0), got -1"),
                chat("stop_token_ids is a string", "\"stop_token_ids\":\"1\"", "stop_token_ids", "got \"1\""),
                chat("stop_token_ids has a string", "\"stop_token_ids\":[\"1\"]", "stop_token_ids", "got \"1\""),
                chat("stop_token_ids has 65 entries", "\"stop_token_ids\":[" + repeat("1", 65) + "]", "stop_token_ids",
                        "at most 64 entries, got 65"),
                chat("n is 17", "\"n\":17", "n", "'n' must be an integer in [1, 16], got 17"),
                chat("n is 0", "\"n\":0", "n", "'n' must be an integer in [1, 16], got 0"),
                chat("best_of above n", "\"n\":2,\"best_of\":3", "best_of", "'best_of' must equal 'n' (2), got 3"),
                chat("best_of without n", "\"best_of\":2", "best_of", "'best_of' must equal 'n' (1), got 2"),
                chat("best_of is a string", "\"best_of\":\"1\"", "best_of", "'best_of' must be an integer in [1, 16]"),
                chat("logit_bias is an array", "\"logit_bias\":[1]", "logit_bias", "'logit_bias' must be an object"),
                chat("logit_bias key is a word", "\"logit_bias\":{\"hello\":1}", "logit_bias",
                        "'logit_bias' keys must be token ids (integers >= 0 as strings), got \"hello\""),
                chat("logit_bias key is negative", "\"logit_bias\":{\"-3\":1}", "logit_bias", "got \"-3\""),
                chat("logit_bias key beyond int", "\"logit_bias\":{\"99999999999\":1}", "logit_bias", "got \"99999999999\""),
                chat("logit_bias value above 100", "\"logit_bias\":{\"5\":101}", "logit_bias",
                        "'logit_bias.5' must be a number in [-100, 100], got 101"),
                chat("logit_bias value is a string", "\"logit_bias\":{\"5\":\"1\"}", "logit_bias", "got \"1\""),
                chat("logit_bias with 1025 entries", "\"logit_bias\":{" + String.join(",", IntStream.range(0, 1025)
                        .mapToObj(i -> "\"" + i + "\":1").toList()) + "}", "logit_bias", "at most 1024 entries, got 1025"),
                chat("logit_bias value below -100", "\"logit_bias\":{\"5\":-100.5}", "logit_bias", "got -100.5"),
                chat("n is a string", "\"n\":\"1\"", "n", "got \"1\""),
                chat("stream as a string", "\"stream\":\"true\"", "stream", "'stream' must be a boolean, got \"true\""),
                chat("stream_options without stream", "\"stream_options\":{\"include_usage\":true}", "stream_options",
                        "stream_options is only allowed when stream is true"),
                chat("stream_options with stream false", "\"stream\":false,\"stream_options\":{}", "stream_options",
                        "only allowed when stream is true"),
                chat("stream_options not an object", "\"stream\":true,\"stream_options\":true", "stream_options",
                        "'stream_options' must be an object or null, got true"),
                chat("include_usage as a string", "\"stream\":true,\"stream_options\":{\"include_usage\":\"yes\"}", "stream_options",
                        "'stream_options.include_usage' must be a boolean"),
                chat("user is a number", "\"user\":5", "user", "'user' must be a string"));
    }

    static List<BadBody> completion() {
        return List.of(
                completionRaw("prompt missing", "{\"max_tokens\":5}", "prompt", "'prompt' must be a non-empty string"),
                completionRaw("prompt empty string", "{\"prompt\":\"\"}", "prompt", "got \"\""),
                completionRaw("prompt empty array", "{\"prompt\":[]}", "prompt", "got []"),
                completionRaw("prompt is a number", "{\"prompt\":5}", "prompt", "got 5"),
                completionRaw("prompt is an object", "{\"prompt\":{\"text\":\"hi\"}}", "prompt", "'prompt' must be"),
                completionRaw("two string prompts", "{\"prompt\":[\"a\",\"b\"]}", "prompt", "only one prompt per request is supported"),
                completionRaw("two token prompts", "{\"prompt\":[[1,2],[3]]}", "prompt", "only one prompt per request is supported"),
                completionRaw("one empty string prompt", "{\"prompt\":[\"\"]}", "prompt", "'prompt[0]' must be"),
                completionRaw("negative token id", "{\"prompt\":[1,-2]}", "prompt", "'prompt[1]' must be a token id"),
                completionRaw("token ids mixed with text", "{\"prompt\":[1,\"a\"]}", "prompt", "got \"a\""),
                completionRaw("fractional token id", "{\"prompt\":[1.5]}", "prompt", "got 1.5"),
                completionRaw("token id beyond int", "{\"prompt\":[4294967296]}", "prompt", "got 4294967296"),
                completion("logprobs above 5", "\"logprobs\":6", "logprobs", "'logprobs' must be an integer in [0, 5] or null, got 6"),
                completion("logprobs boolean", "\"logprobs\":true", "logprobs", "got true"),
                completion("echo as a string", "\"echo\":\"no\"", "echo", "'echo' must be a boolean"),
                completion("suffix", "\"suffix\":\"end\"", "suffix", "'suffix' is not supported"),
                completion("tools", "\"tools\":[" + tool("f") + "]", "tools", "'tools' is not supported"),
                completion("max_tokens as a string", "\"max_tokens\":\"16\"", "max_tokens", "got \"16\""),
                completion("stream_options without stream", "\"stream_options\":{\"include_usage\":true}", "stream_options",
                        "only allowed when stream is true"));
    }
}
