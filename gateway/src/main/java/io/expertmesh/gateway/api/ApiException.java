package io.expertmesh.gateway.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.model.Json;

/**
 * An error the API reports to its client: the HTTP status and the OpenAI error body
 * {@code {"error":{"message","type","param","code"}}}. {@code param} names the request field at
 * fault and {@code code} is a machine-readable reason; either may be null.
 */
public final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public ApiException(int status, String type, String message, String param, String code) {
        // No stack trace: these are expected outcomes of bad requests, and the status and message say
        // everything; whoever turns an internal failure into one logs the original exception.
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400: a malformed body or a field with a wrong type or value; {@code param} names the field (or null). */
    public static ApiException badRequest(String message, String param) {
        return new ApiException(400, "invalid_request_error", message, param, null);
    }

    /** 401: missing or wrong API key. */
    public static ApiException unauthorized(String message) {
        return new ApiException(401, "authentication_error", message, null, null);
    }

    /** 403: refused whatever the credentials (a cross-site WebSocket). */
    public static ApiException forbidden(String message) {
        return new ApiException(403, "permission_error", message, null, null);
    }

    /** 404: unknown model or path. */
    public static ApiException notFound(String message) {
        return new ApiException(404, "not_found_error", message, null, null);
    }

    /** 405: the path exists but not for this method. */
    public static ApiException methodNotAllowed(String message) {
        return new ApiException(405, "invalid_request_error", message, null, null);
    }

    /** 413: the request body is larger than the server accepts. */
    public static ApiException tooLarge(String message) {
        return new ApiException(413, "invalid_request_error", message, null, null);
    }

    /** 429: the admission queue is full; the caller adds {@code Retry-After}. */
    public static ApiException overloaded(String message) {
        return new ApiException(429, "rate_limit_error", message, null, null);
    }

    /** 500: a failure inside the server. */
    public static ApiException internal(String message) {
        return new ApiException(500, "server_error", message, null, null);
    }

    /** 503: not ready yet, or draining for shutdown. */
    public static ApiException unavailable(String message) {
        return new ApiException(503, "service_unavailable", message, null, null);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    /** The request field at fault, or null. */
    public String param() {
        return param;
    }

    /** A machine-readable reason, or null. */
    public String code() {
        return code;
    }

    /** The error body; {@code param} and {@code code} are always present, null when absent. */
    public ObjectNode toJson() {
        ObjectNode body = Json.MAPPER.createObjectNode();
        ObjectNode error = body.putObject("error");
        error.put("message", getMessage());
        error.put("type", type);
        if (param == null) error.putNull("param");
        else error.put("param", param);
        if (code == null) error.putNull("code");
        else error.put("code", code);
        return body;
    }
}
