package io.expertmesh.gateway.api;

/** The two generation endpoints, with the names their response objects and ids carry. */
public enum Endpoint {
    CHAT("/v1/chat/completions", "chat.completion", "chat.completion.chunk", "chatcmpl-"),
    COMPLETION("/v1/completions", "text_completion", "text_completion", "cmpl-");

    private final String path;
    private final String object;
    private final String chunkObject;
    private final String idPrefix;

    Endpoint(String path, String object, String chunkObject, String idPrefix) {
        this.path = path;
        this.object = object;
        this.chunkObject = chunkObject;
        this.idPrefix = idPrefix;
    }

    /** The HTTP path, e.g. {@code /v1/chat/completions}. */
    public String path() {
        return path;
    }

    /** The {@code "object"} of a non-streaming response. */
    public String object() {
        return object;
    }

    /** The {@code "object"} of a stream chunk. */
    public String chunkObject() {
        return chunkObject;
    }

    /** What response ids start with. */
    public String idPrefix() {
        return idPrefix;
    }
}
