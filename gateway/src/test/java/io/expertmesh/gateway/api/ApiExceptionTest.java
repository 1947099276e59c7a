package io.expertmesh.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ApiExceptionTest {
    @Test
    void errorBodyAlwaysHasParamAndCodeEvenWhenNull() {
        assertEquals("{\"error\":{\"message\":\"no such model\",\"type\":\"not_found_error\",\"param\":null,\"code\":null}}",
                ApiException.notFound("no such model").toJson().toString());
    }

    @Test
    void errorBodyCarriesParamAndCode() {
        assertEquals("{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"param\":\"top_p\","
                + "\"code\":\"invalid_value\"}}",
                new ApiException(400, "invalid_request_error", "bad", "top_p", "invalid_value").toJson().toString());
        assertEquals("top_p", ApiException.badRequest("bad", "top_p").toJson().path("error").path("param").asText());
    }

    @Test
    void factoriesSetStatusAndType() {
        check(ApiException.badRequest("m", null), 400, "invalid_request_error");
        check(ApiException.unauthorized("m"), 401, "authentication_error");
        check(ApiException.notFound("m"), 404, "not_found_error");
        check(ApiException.tooLarge("m"), 413, "invalid_request_error");
        check(ApiException.overloaded("m"), 429, "rate_limit_error");
        check(ApiException.internal("m"), 500, "server_error");
        check(ApiException.unavailable("m"), 503, "service_unavailable");
    }

    private static void check(ApiException e, int status, String type) {
        assertEquals(status, e.status());
        assertEquals(type, e.type());
        assertEquals("m", e.getMessage());
        assertEquals(type, e.toJson().path("error").path("type").asText());
    }
}
