package io.expertmesh.gateway.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.guided.GuideSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A chat request's {@code tools} and {@code tool_choice}, checked. Every tool is bounded before the
 * chat template sees it: how many, how long a name, how large and how deeply nested its JSON.
 *
 * @param tools  the tool objects as the client sent them ({@code {"type":"function","function":{...}}}), for the template
 * @param choice {@code tool_choice}; {@code auto} when tools were given without one, else {@code none}
 */
public record ToolRequest(List<JsonNode> tools, ToolChoice choice) {
    public static final int MAX_TOOLS = 128;
    public static final int MAX_NAME_LENGTH = 64;
    /** Largest serialized size of one tool and of all of them: the template copies them into the prompt. */
    public static final int MAX_TOOL_CHARS = 32 * 1024;
    public static final int MAX_TOOLS_CHARS = 256 * 1024;
    public static final int MAX_SCHEMA_DEPTH = 32;
    /** OpenAI's rule for function names. */
    static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_-]{1," + MAX_NAME_LENGTH + "}");

    public static final ToolRequest NONE = new ToolRequest(List.of(), new ToolChoice.None());

    public ToolRequest {
        tools = List.copyOf(tools);
        Objects.requireNonNull(choice, "choice");
    }

    /**
     * The tools {@code tool_choice} forces the output to call one of, each as its {@link #callGuide}:
     * the named tool, or every tool for {@code required} (the model picks one); empty when the model
     * chooses ({@code auto}) or may not call ({@code none}).
     */
    public List<JsonNode> forcedTools() {
        return switch (choice) {
            case ToolChoice.Named n -> tools.stream().filter(t -> name(t).equals(n.name())).toList();
            case ToolChoice.Required r -> tools;
            case ToolChoice.Auto a -> List.of();
            case ToolChoice.None n -> List.of();
        };
    }

    /**
     * One call of {@code tool} as the template writes it, {@code <tool_call>\n{"name": "NAME", "arguments": ARGS}\n</tool_call>},
     * its arguments held to the tool's {@code parameters} schema (any JSON object when it has none).
     */
    static GuideSpec.Framed callGuide(JsonNode tool) {
        JsonNode parameters = tool.get("function").get("parameters");
        GuideSpec arguments = parameters == null || parameters.isEmpty() ? new GuideSpec.JsonObject() : new GuideSpec.JsonSchema(parameters);
        return new GuideSpec.Framed(ToolCallParser.START + "\n{\"name\": \"" + name(tool) + "\", \"arguments\": ", arguments,
                "}\n" + ToolCallParser.END);
    }

    static String name(JsonNode tool) {
        return tool.get("function").get("name").textValue();
    }

    static ToolRequest parse(JsonFields f) {
        List<JsonNode> tools = tools(f);
        Set<String> names = new HashSet<>();
        for (JsonNode t : tools) names.add(name(t));
        return new ToolRequest(tools, choice(f, names));
    }

    /** The checked {@code tools} of a body; empty when it has none. */
    static List<JsonNode> tools(JsonFields f) {
        JsonNode node = f.get("tools");
        if (node == null) return List.of();
        if (!node.isArray()) throw f.invalid("tools", "an array of tools", node);
        if (node.size() > MAX_TOOLS) {
            throw ApiException.badRequest("'tools' must have at most " + MAX_TOOLS + " entries, got " + node.size(), "tools");
        }
        Set<String> seen = new HashSet<>();
        long total = 0;
        for (int i = 0; i < node.size(); i++) {
            JsonNode tool = node.get(i);
            String path = "tools[" + i + "]";
            if (!tool.isObject()) throw JsonFields.invalid("tools", path, "an object {\"type\":\"function\",\"function\":{...}}", tool);
            checkDepth(tool, path, 0);
            int chars = tool.toString().length();
            total += chars;
            if (chars > MAX_TOOL_CHARS) {
                throw ApiException.badRequest("'" + path + "' must be at most " + MAX_TOOL_CHARS + " characters of JSON, got " + chars, "tools");
            }
            if (total > MAX_TOOLS_CHARS) {
                throw ApiException.badRequest("'tools' must be at most " + MAX_TOOLS_CHARS + " characters of JSON in all", "tools");
            }
            JsonFields t = JsonFields.nested(tool, "tools", path);
            JsonNode type = t.get("type");
            if (type == null || !"function".equals(type.textValue())) throw t.invalid("type", "\"function\"", type);
            JsonNode function = t.get("function");
            if (function == null || !function.isObject()) throw t.invalid("function", "an object with a 'name'", function);
            JsonFields fn = JsonFields.nested(function, "tools", t.path("function"));
            String name = name(fn);
            if (!seen.add(name)) {
                throw ApiException.badRequest("'" + fn.path("name") + "': two tools are named \"" + name + "\"", "tools");
            }
            fn.string("description");
            JsonNode parameters = fn.get("parameters");
            if (parameters != null && !parameters.isObject()) throw fn.invalid("parameters", "a JSON Schema object", parameters);
            fn.bool("strict", false);
        }
        List<JsonNode> list = new ArrayList<>(node.size());
        node.forEach(list::add);
        return list;
    }

    /** A function name under {@code fn}: 1 to 64 letters, digits, underscores and dashes. */
    static String name(JsonFields fn) {
        JsonNode name = fn.get("name");
        if (name == null || !name.isTextual() || !NAME.matcher(name.textValue()).matches()) {
            throw fn.invalid("name", "1 to " + MAX_NAME_LENGTH + " letters, digits, '_' or '-'", name);
        }
        return name.textValue();
    }

    private static void checkDepth(JsonNode node, String path, int depth) {
        if (depth > MAX_SCHEMA_DEPTH) {
            throw ApiException.badRequest("'" + path + "' is nested more than " + MAX_SCHEMA_DEPTH + " levels deep", "tools");
        }
        for (JsonNode child : node) checkDepth(child, path, depth + 1);
    }

    private static ToolChoice choice(JsonFields f, Set<String> names) {
        JsonNode node = f.get("tool_choice");
        String expected = "\"none\", \"auto\", \"required\" or {\"type\":\"function\",\"function\":{\"name\":...}}";
        if (node == null) return names.isEmpty() ? new ToolChoice.None() : new ToolChoice.Auto();
        ToolChoice choice;
        if (node.isTextual()) {
            choice = switch (node.textValue()) {
                case "none" -> new ToolChoice.None();
                case "auto" -> new ToolChoice.Auto();
                case "required" -> new ToolChoice.Required();
                default -> throw f.invalid("tool_choice", expected, node);
            };
        } else if (node.isObject()) {
            JsonFields c = JsonFields.nested(node, "tool_choice", "tool_choice");
            JsonNode type = c.get("type");
            if (type == null || !"function".equals(type.textValue())) throw c.invalid("type", "\"function\"", type);
            JsonNode function = c.get("function");
            if (function == null || !function.isObject()) throw c.invalid("function", "an object with a 'name'", function);
            String name = name(JsonFields.nested(function, "tool_choice", c.path("function")));
            if (!names.contains(name)) {
                throw ApiException.badRequest("'tool_choice' names the function \"" + name + "\", which is not in 'tools'", "tool_choice");
            }
            choice = new ToolChoice.Named(name);
        } else {
            throw f.invalid("tool_choice", expected, node);
        }
        if (names.isEmpty()) {
            if (choice instanceof ToolChoice.Required) {
                throw ApiException.badRequest("'tool_choice' \"required\" needs at least one tool in 'tools'", "tool_choice");
            }
            return new ToolChoice.None(); // "auto" with nothing to call
        }
        return choice;
    }
}
