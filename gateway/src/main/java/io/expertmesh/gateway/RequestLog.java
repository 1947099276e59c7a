package io.expertmesh.gateway;

import io.expertmesh.gateway.api.GenerationRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The debug line each accepted generation request gets, with the client's {@code user} when it sent one. */
final class RequestLog {
    private static final Logger LOG = LoggerFactory.getLogger(RequestLog.class);

    private RequestLog() {}

    static void accepted(String id, GenerationRequest request, ServedModel.Prepared prepared) {
        LOG.debug("request {}: {} prompt tokens, max_tokens {}, n {}, stream {}, user {}", id, prepared.promptIds().length,
                prepared.sampling().maxNewTokens(), request.n(), request.stream(), request.user() == null ? "-" : request.user());
    }
}
