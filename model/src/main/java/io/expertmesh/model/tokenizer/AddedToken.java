package io.expertmesh.model.tokenizer;

/** An entry of tokenizer.json's {@code added_tokens}: matched whole in the text before BPE runs. */
record AddedToken(int id, String content, boolean special, boolean lstrip, boolean rstrip, boolean singleWord, boolean normalized) {}
