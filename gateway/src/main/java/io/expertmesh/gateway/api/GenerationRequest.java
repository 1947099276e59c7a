package io.expertmesh.gateway.api;

import io.expertmesh.model.guided.Guide;
import io.expertmesh.model.guided.TokenVocabulary;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.tokenizer.ChatMessage;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A validated {@code /v1/chat/completions} or {@code /v1/completions} request, made by
 * {@link RequestParser#parse}. A chat request has {@code messages}; a completion request has exactly
 * one of {@code promptText} and {@code promptIds}. Fields the client left out hold their defaults:
 * {@code maxTokens} and {@code seed} null (the server chooses), {@code topK} 0 (off).
 *
 * @param model        the model the client named, or null; the caller checks it
 * @param promptIds    token ids of a pre-tokenized prompt; shared, not copied: do not modify
 * @param logprobs     whether the client asked for log probabilities (chat {@code logprobs: true},
 *                     or any completions {@code logprobs} number)
 * @param logitBias    {@code logit_bias}: token id to a bias in [-100, 100]; the ids are not yet checked against the vocabulary
 * @param topLogprobs  how many alternatives per token to report with them (0 to 20)
 * @param n            how many choices to generate (1 to 16)
 * @param echo         a completion request's {@code echo}: the prompt text leads each choice's text
 * @param user         the client's end-user id: only logged
 * @param includeUsage {@code stream_options.include_usage}: send a usage chunk at the end of a stream
 * @param guide        the compiled structured-output guide ({@code response_format} or {@code guided_*}), or null
 * @param tools        a chat request's {@code tools} and {@code tool_choice}; {@link ToolRequest#NONE} for completions
 */
public record GenerationRequest(
        Endpoint endpoint,
        String model,
        List<ChatMessage> messages,
        String promptText,
        int[] promptIds,
        Integer maxTokens,
        int minTokens,
        float temperature,
        float topP,
        int topK,
        float minP,
        float presencePenalty,
        float frequencyPenalty,
        float repetitionPenalty,
        Long seed,
        List<String> stop,
        Set<Integer> stopTokenIds,
        Map<Integer, Float> logitBias,
        boolean logprobs,
        int topLogprobs,
        int n,
        boolean echo,
        boolean stream,
        boolean includeUsage,
        String user,
        Guide guide,
        ToolRequest tools) {

    public GenerationRequest {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(tools, "tools");
        boolean shapeOk = switch (endpoint) {
            case CHAT -> messages != null && promptText == null && promptIds == null;
            case COMPLETION -> messages == null && (promptText == null) != (promptIds == null);
        };
        if (!shapeOk) {
            throw new IllegalArgumentException(endpoint + " request needs "
                    + (endpoint == Endpoint.CHAT ? "messages and no prompt" : "exactly one of promptText and promptIds"));
        }
        if (messages != null) messages = List.copyOf(messages);
        stop = List.copyOf(stop);
        stopTokenIds = Set.copyOf(stopTokenIds);
        logitBias = Map.copyOf(logitBias);
    }

    /** This request with {@code compiled} as its guide. */
    public GenerationRequest withGuide(Guide compiled) {
        return new GenerationRequest(endpoint, model, messages, promptText, promptIds, maxTokens, minTokens, temperature, topP, topK,
                minP, presencePenalty, frequencyPenalty, repetitionPenalty, seed, stop, stopTokenIds, logitBias, logprobs, topLogprobs,
                n, echo, stream, includeUsage, user, compiled, tools);
    }

    /** A completion with {@code echo} and {@code logprobs}: the echoed prompt's tokens get log probabilities too. */
    public boolean promptLogprobs() {
        return echo && logprobs;
    }

    /**
     * The sampler's parameters for this request. {@code maxNewTokens} is the budget the server settled
     * on ({@link #maxTokens()} or its own default, cut to the context left); {@code defaultStopTokenIds}
     * (the model's end-of-sequence ids) are added to the request's own; a guide is bound to {@code vocabulary}.
     */
    public SamplingParams sampling(int maxNewTokens, Set<Integer> defaultStopTokenIds, TokenVocabulary vocabulary) {
        Set<Integer> stopIds = new HashSet<>(defaultStopTokenIds);
        stopIds.addAll(stopTokenIds);
        // The server may have cut the budget below min_tokens to fit the context; the budget wins.
        int min = Math.min(minTokens, maxNewTokens);
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, maxNewTokens, min, stopIds, stop, logitBias, logprobs ? topLogprobs : SamplingParams.NO_LOGPROBS,
                guide == null ? null : guide.over(vocabulary));
    }
}
