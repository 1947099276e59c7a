package io.expertmesh.gateway;

import io.expertmesh.attention.SequenceEvent;
import io.expertmesh.gateway.api.ApiException;
import java.util.concurrent.CompletionException;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.ExpectedWebSocketRequestRejection;
import org.apache.pekko.http.javadsl.server.MethodRejection;
import org.apache.pekko.http.javadsl.server.Rejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.scaladsl.model.EntityStreamException;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Every failure as an OpenAI-style error response: request errors with their status, anything unexpected as a logged 500. */
final class GatewayErrors {
    private static final Logger LOG = LoggerFactory.getLogger(GatewayErrors.class);

    private GatewayErrors() {}

    static HttpResponse toResponse(Throwable failure) {
        ApiException api = toApi(failure);
        HttpResponse response = JsonResponses.of(api.status(), api.toJson());
        return api.status() == 429 ? response.addHeader(RawHeader.create("Retry-After", "1")) : response;
    }

    static ApiException toApi(Throwable failure) {
        Throwable t = failure;
        while ((t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return switch (t) {
            case ApiException api -> api;
            case EntityStreamSizeException size -> ApiException.tooLarge("request body exceeds the limit of " + size.limit() + " bytes");
            case EntityStreamException stream when stream.info().summary().toLowerCase(java.util.Locale.ROOT).contains("too large") ->
                    ApiException.tooLarge("request body exceeds the size limit: " + stream.info().detail());
            case EntityStreamException stream -> ApiException.badRequest("request body could not be read: " + stream.info().formatPretty(), null);
            case java.util.concurrent.TimeoutException timeout -> ApiException.badRequest("request body was not received in time", null);
            case IllegalArgumentException invalid -> ApiException.badRequest(invalid.getMessage(), null);
            default -> {
                LOG.error("unexpected failure while handling a request", t);
                yield ApiException.internal("internal error: " + t.getClass().getSimpleName());
            }
        };
    }

    static ApiException rejection(SequenceEvent.Rejected rejected) {
        return switch (rejected.reason()) {
            case QUEUE_FULL -> ApiException.overloaded(rejected.message());
            case DRAINING -> ApiException.unavailable(rejected.message());
            case TOO_LARGE -> ApiException.badRequest(rejected.message(), "max_tokens");
        };
    }

    static ExceptionHandler exceptions() {
        return ExceptionHandler.newBuilder().matchAny(t -> Directives.complete(toResponse(t))).build();
    }

    static RejectionHandler rejections() {
        return RejectionHandler.newBuilder()
                .handle(MethodRejection.class, r -> Directives.complete(toResponse(
                        ApiException.methodNotAllowed("method not allowed here; use " + r.supported().name()))))
                .handle(ExpectedWebSocketRequestRejection.class, r -> Directives.complete(toResponse(
                        ApiException.badRequest("this endpoint expects a WebSocket upgrade request", null))))
                .handleAll(Rejection.class, all -> Directives.complete(toResponse(ApiException.badRequest("bad request: " + all, null))))
                .handleNotFound(Directives.extractUnmatchedPath(path -> Directives.complete(toResponse(
                        ApiException.notFound("no endpoint at " + path)))))
                .build();
    }
}
