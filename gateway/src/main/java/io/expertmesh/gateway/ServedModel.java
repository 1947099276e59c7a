package io.expertmesh.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.gateway.api.ApiException;
import io.expertmesh.gateway.api.GenerationRequest;
import io.expertmesh.model.guided.TokenVocabulary;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.tokenizer.ChatMessage;
import io.expertmesh.model.tokenizer.ChatTemplate;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.util.List;
import java.util.Set;

/**
 * The model as the HTTP API sees it: its name, tokenizer (and its vocabulary for guided output),
 * chat template, context and default stop tokens. Turns a validated request into prompt ids and sampling parameters, or a 400 that says
 * which limit was hit.
 */
public record ServedModel(String id, Tokenizer tokenizer, TokenVocabulary vocabulary, ChatTemplate chatTemplate, int maxContext,
                          Set<Integer> stopTokenIds, int defaultMaxTokens) {

    /**
     * A request ready for the scheduler.
     *
     * @param echo the text each choice's output starts with: the prompt for a completion with {@code echo}, else ""
     */
    public record Prepared(int[] promptIds, SamplingParams sampling, String echo) {}

    public Prepared prepare(GenerationRequest request) {
        checkModel(request.model());
        int[] prompt;
        if (request.messages() != null) {
            prompt = tokenizer.encode(render(request.messages(), request.tools().tools(), true));
        } else if (request.promptIds() != null) {
            prompt = request.promptIds();
            for (int id : prompt) {
                if (id >= tokenizer.size()) {
                    throw ApiException.badRequest("token id " + id + " in 'prompt' is outside the vocabulary of " + tokenizer.size(), "prompt");
                }
            }
        } else {
            prompt = tokenizer.encode(request.promptText());
        }
        for (int id : request.logitBias().keySet()) {
            if (id >= tokenizer.size()) {
                throw ApiException.badRequest("token id " + id + " in 'logit_bias' is outside the vocabulary of " + tokenizer.size(),
                        "logit_bias");
            }
        }
        if (prompt.length == 0) throw ApiException.badRequest("the prompt has no tokens", request.messages() != null ? "messages" : "prompt");
        int room = maxContext - prompt.length;
        if (room < 1) {
            throw ApiException.badRequest("the prompt has " + prompt.length + " tokens; this model's context is " + maxContext
                    + " tokens, leaving no room for output", request.messages() != null ? "messages" : "prompt");
        }
        int maxTokens;
        if (request.maxTokens() != null) {
            maxTokens = request.maxTokens();
            if (maxTokens > room) {
                throw ApiException.badRequest("prompt (" + prompt.length + " tokens) + max_tokens (" + maxTokens + ") exceeds the context of "
                        + maxContext + " tokens", "max_tokens");
            }
        } else {
            maxTokens = Math.min(defaultMaxTokens, room);
        }
        if (request.minTokens() > maxTokens) {
            throw ApiException.badRequest("min_tokens (" + request.minTokens() + ") exceeds max_tokens (" + maxTokens + ")", "min_tokens");
        }
        String echo = !request.echo() ? "" : request.promptText() != null ? request.promptText() : tokenizer.decode(prompt, false);
        return new Prepared(prompt, request.sampling(maxTokens, stopTokenIds, vocabulary), echo);
    }

    /**
     * The chat template's text for these messages, offering {@code tools}, ending with the assistant's
     * cue when {@code addGenerationPrompt}; a template's refusal is a 400.
     */
    public String render(List<ChatMessage> messages, List<JsonNode> tools, boolean addGenerationPrompt) {
        try {
            return chatTemplate.render(messages, tools, addGenerationPrompt);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("the chat template refused the messages: " + e.getMessage(), "messages");
        }
    }

    /** 404 when the request names another model; no name means this one. */
    public void checkModel(String requested) {
        if (requested != null && !requested.equals(id)) {
            throw ApiException.notFound("The model '" + requested + "' does not exist; this server serves '" + id + "'");
        }
    }
}
