package io.expertmesh.model.tokenizer;

/** One turn of a conversation: role (system, user, assistant, ...) and its text. */
public record ChatMessage(String role, String content) {}
