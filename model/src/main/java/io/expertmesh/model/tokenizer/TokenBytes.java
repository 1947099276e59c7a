package io.expertmesh.model.tokenizer;

/** One token as log probabilities report it: its text and its bytes ({@link Tokenizer#tokenBytes}). */
public record TokenBytes(String text, byte[] bytes) {}
