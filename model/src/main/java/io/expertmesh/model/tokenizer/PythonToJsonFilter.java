package io.expertmesh.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import io.expertmesh.model.Json;
import java.util.Iterator;
import java.util.Map;

/**
 * Jinja's {@code tojson} as transformers' chat templates run it: Python's {@code json.dumps} with
 * {@code ensure_ascii=False}, so {@code ", "} between items and {@code ": "} after keys, in the
 * values' own key order. Jinjava's built-in filter writes compact JSON, and a tool list rendered that
 * way would be a different prompt from the one the model was trained on.
 */
final class PythonToJsonFilter implements Filter {
    @Override
    public String getName() {
        return "tojson";
    }

    @Override
    public Object filter(Object value, JinjavaInterpreter interpreter, String... args) {
        StringBuilder out = new StringBuilder();
        write(Json.MAPPER.valueToTree(value), out);
        return out.toString();
    }

    static void write(JsonNode node, StringBuilder out) {
        if (node.isObject()) {
            out.append('{');
            Iterator<Map.Entry<String, JsonNode>> fields = node.properties().iterator();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> e = fields.next();
                out.append(Json.write(e.getKey())).append(": ");
                write(e.getValue(), out);
                if (fields.hasNext()) out.append(", ");
            }
            out.append('}');
        } else if (node.isArray()) {
            out.append('[');
            for (int i = 0; i < node.size(); i++) {
                if (i > 0) out.append(", ");
                write(node.get(i), out);
            }
            out.append(']');
        } else {
            out.append(Json.write(node));
        }
    }
}
