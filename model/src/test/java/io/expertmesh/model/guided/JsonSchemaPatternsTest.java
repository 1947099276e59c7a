package io.expertmesh.model.guided;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import java.util.List;
import org.junit.jupiter.api.Test;

class JsonSchemaPatternsTest {
    private static Guide schema(String json) {
        try {
            return Guide.compile(new GuideSpec.JsonSchema(Json.MAPPER.readTree(json)));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void objectWritesRequiredPropertiesInOrderAndMaySkipOptionalOnes() {
        Guide g = schema("""
                {"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string","maxLength":3},"c":{"type":"boolean"}},
                 "required":["b"],"additionalProperties":false}""");
        assertTrue(g.matches("{\"b\":\"xyz\"}"));
        assertTrue(g.matches("{\"a\":-12,\"b\":\"\",\"c\":true}"));
        assertTrue(g.matches("{\"a\":0,\"b\":\"é\"}"));
        assertTrue(g.matches("{\"b\":\"\\\"\",\"c\":false}"));
        assertFalse(g.matches("{}"), "b is required");
        assertFalse(g.matches("{\"a\":1}"));
        assertFalse(g.matches("{\"b\":\"long\"}"), "maxLength 3");
        assertFalse(g.matches("{\"b\":\"x\",\"a\":1}"), "properties come in the schema's order");
        assertFalse(g.matches("{\"a\":01,\"b\":\"x\"}"), "no leading zeros");
        assertFalse(g.matches("{ \"b\":\"x\"}"), "compact: no whitespace outside strings");
    }

    @Test
    void allOptionalObjectMayBeEmptyButNeedsCommasBetweenMembers() {
        Guide g = schema("{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"null\"},\"y\":{\"type\":\"null\"}}}");
        assertTrue(g.matches("{}"));
        assertTrue(g.matches("{\"y\":null}"));
        assertTrue(g.matches("{\"x\":null,\"y\":null}"));
        assertFalse(g.matches("{,\"y\":null}"));
        assertFalse(g.matches("{\"x\":null\"y\":null}"));
    }

    @Test
    void integerBoundsAreExact() {
        for (int lo = -23; lo <= 23; lo += 7) {
            for (int hi = lo; hi <= 130; hi += 19) {
                Guide g = schema("{\"type\":\"integer\",\"minimum\":" + lo + ",\"maximum\":" + hi + "}");
                for (int v = -150; v <= 150; v++) {
                    assertEquals(v >= lo && v <= hi, g.matches(Integer.toString(v)), "[" + lo + ", " + hi + "] " + v);
                }
                assertFalse(g.matches("-0"));
            }
        }
    }

    @Test
    void numbersWithBoundsStayInsideThem() {
        Guide g = schema("{\"type\":\"number\",\"minimum\":-2.5,\"exclusiveMaximum\":3}");
        for (String in : new String[] {"-2", "-1.999", "-0.5", "0", "1.75", "2", "1.5"}) assertTrue(g.matches(in), in);
        for (String out : new String[] {"3", "3.5", "-3", "-2.6", "1.50", "1.", "1e3"}) assertFalse(g.matches(out), out);
    }

    @Test
    void arraysHonourItemCountsAndEnumsAreLiteral() {
        Guide g = schema("{\"type\":\"array\",\"items\":{\"enum\":[\"red\",1,null]},\"minItems\":1,\"maxItems\":3}");
        assertTrue(g.matches("[\"red\"]"));
        assertTrue(g.matches("[1,null,\"red\"]"));
        assertFalse(g.matches("[]"));
        assertFalse(g.matches("[1,1,1,1]"));
        assertFalse(g.matches("[\"blue\"]"));
    }

    @Test
    void jsonObjectModeTakesAnyNestedObject() {
        Guide g = Guide.compile(new GuideSpec.JsonObject());
        assertTrue(g.matches("{}"));
        assertTrue(g.matches("{\"a\":[1,2.5,{\"b\":[true,null,\"x\"]}],\"c\":-0.25}"));
        assertFalse(g.matches("[]"), "json_object is an object");
        assertFalse(g.matches("{\"a\":1"));
        assertFalse(g.matches("{\"a\":[1,]}"));
    }

    @Test
    void unsupportedKeywordsAreNamed() {
        var e = assertThrows(GuideException.class,
                () -> schema("{\"type\":\"string\",\"pattern\":\"a+\",\"format\":\"date\",\"title\":\"ignored\"}"));
        assertEquals("unsupported JSON schema keyword(s) at #: format, pattern", e.getMessage());
        var nested = assertThrows(GuideException.class,
                () -> schema("{\"type\":\"object\",\"properties\":{\"p\":{\"$ref\":\"#/x\"}}}"));
        assertTrue(nested.getMessage().contains("at #/properties/p: $ref"), nested.getMessage());
    }

    @Test
    void oversizedSchemasAreRefusedNotBuilt() {
        assertThrows(GuideException.class, () -> schema("{\"type\":\"array\",\"maxItems\":100000}"));
        JsonNode deep = Json.MAPPER.createObjectNode().put("type", "null");
        for (int i = 0; i < 40; i++) {
            var wrapper = Json.MAPPER.createObjectNode().put("type", "array");
            wrapper.set("items", deep);
            deep = wrapper;
        }
        JsonNode tooDeep = deep;
        var wide = Json.MAPPER.createObjectNode().put("type", "object");
        var properties = wide.putObject("properties");
        for (int i = 0; i <= JsonSchemaPatterns.MAX_PROPERTIES; i++) properties.putObject("p" + i).put("type", "null");
        var e = assertThrows(GuideException.class, () -> Guide.compile(new GuideSpec.JsonSchema(wide)));
        assertEquals("'properties' at # has 65 entries; this server's limit is 64", e.getMessage());
        assertThrows(GuideException.class, () -> Guide.compile(new GuideSpec.JsonSchema(tooDeep)));
    }

    @Test
    void framedGuideForcesTheLiteralsAroundItsInnerGuide() {
        Guide g = Guide.compile(new GuideSpec.Framed("<tool_call>{\"name\":\"f\",\"arguments\":",
                new GuideSpec.JsonSchema(Json.MAPPER.createObjectNode().put("type", "boolean")), "}</tool_call>"));
        assertTrue(g.matches("<tool_call>{\"name\":\"f\",\"arguments\":true}</tool_call>"));
        assertFalse(g.matches("<tool_call>{\"name\":\"f\",\"arguments\":true"));
        assertFalse(g.matches("true"));
    }

    @Test
    void oneOfGuideAllowsEachOptionAndNothingElse() {
        Guide g = Guide.compile(new GuideSpec.OneOf(List.of(new GuideSpec.Framed("f:", new GuideSpec.JsonObject(), ";"),
                new GuideSpec.Framed("g:", new GuideSpec.Regex("[0-9]"), ";"))));
        assertTrue(g.matches("f:{};"));
        assertTrue(g.matches("g:7;"));
        assertFalse(g.matches("f:7;"));
        assertFalse(g.matches("g:{};"));
    }
}
