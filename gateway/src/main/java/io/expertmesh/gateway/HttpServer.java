package io.expertmesh.gateway;

import io.expertmesh.gateway.api.ApiException;
import io.expertmesh.model.Json;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.TLSProtocol;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.TLSPlacebo;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Accepts the HTTP API's TCP connections itself and runs pekko-http's server layer (parsing,
 * request-timeout, linger-timeout, WebSocket) on each, adding what pekko-http's own bind lacks: a
 * {@link HeaderDeadline} per connection, and a bound on open connections that answers the one too
 * many with a 503 and closes it. pekko-http's bind stops accepting at its max-connections instead,
 * so a newcomer waits unanswered in the backlog for as long as the stalled connections last.
 */
public final class HttpServer {
    private static final Logger LOG = LoggerFactory.getLogger(HttpServer.class);
    private static final long REFUSAL_LOG_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final ActorSystem<?> system;
    private final GatewaySettings settings;
    private final ServerSettings serverSettings;
    private final ByteString refusal;
    private final AtomicInteger open = new AtomicInteger();
    /** Only the accept loop, which runs one connection at a time, reads and writes these. */
    private long refusedUnlogged;
    private long refusalLoggedAt;

    /** The bound address, and unbind: stop accepting; open connections go on. */
    public record Binding(Tcp.ServerBinding tcp) {
        public InetSocketAddress localAddress() {
            return tcp.localAddress();
        }

        public CompletionStage<Done> unbind() {
            return tcp.unbind().thenApply(unit -> Done.getInstance());
        }
    }

    HttpServer(ActorSystem<?> system, GatewaySettings settings) {
        this.system = system;
        this.settings = settings;
        this.serverSettings = ServerSettings.create(system.classicSystem());
        this.refusal = refusal(settings.maxConnections());
        this.refusalLoggedAt = System.nanoTime() - REFUSAL_LOG_INTERVAL_NANOS;
    }

    /** Listens on the configured host and port; each accepted connection gets its own materialization of {@code handler}. */
    CompletionStage<Binding> bind(Flow<HttpRequest, HttpResponse, NotUsed> handler) {
        // As pekko-http's bind: no half-close (a connection closes when the server is done writing) and no TCP
        // idle timeout (pekko.http.server.idle-timeout is applied per connection below).
        return Tcp.get(system).bind(settings.host(), settings.port(), serverSettings.getBacklog(), serverSettings.getSocketOptions(),
                        false, Optional.empty())
                .to(Sink.foreach(connection -> accept(connection, handler)))
                .run(system)
                .thenApply(Binding::new);
    }

    /** Never throws: a failure here would end the accept loop. */
    private void accept(Tcp.IncomingConnection connection, Flow<HttpRequest, HttpResponse, NotUsed> handler) {
        try {
            if (open.get() >= settings.maxConnections()) {
                refuse(connection);
                return;
            }
            open.incrementAndGet();
            connection.handleWith(handler.join(layers(connection.remoteAddress())).watchTermination((mat, done) -> {
                done.whenComplete((d, failure) -> open.decrementAndGet());
                return mat;
            }), system);
        } catch (RuntimeException e) {
            LOG.error("could not handle the HTTP connection from {}", connection.remoteAddress(), e);
        }
    }

    /** From the routes down to the bytes: header deadline, pekko-http's server layer, no TLS, the idle timeout. */
    private BidiFlow<HttpResponse, ByteString, ByteString, HttpRequest, NotUsed> layers(InetSocketAddress remote) {
        BidiFlow<HttpResponse, ByteString, ByteString, HttpRequest, NotUsed> http = HeaderDeadline.of(settings.headerTimeout())
                .atop(Http.get(system).serverLayer(serverSettings, Optional.of(remote)))
                .atop(plainText());
        scala.concurrent.duration.Duration idle = serverSettings.getTimeouts().idleTimeout();
        if (!idle.isFinite()) return http;
        return http.atop(BidiFlow.bidirectionalIdleTimeout(java.time.Duration.ofNanos(idle.toNanos())));
    }

    /** TLSPlacebo, typed as the server layer expects: its SessionBytes are SslTlsInbound (Java generics do not see it). */
    @SuppressWarnings("unchecked")
    private static BidiFlow<TLSProtocol.SslTlsOutbound, ByteString, ByteString, TLSProtocol.SslTlsInbound, NotUsed> plainText() {
        return (BidiFlow<TLSProtocol.SslTlsOutbound, ByteString, ByteString, TLSProtocol.SslTlsInbound, NotUsed>)
                (BidiFlow<?, ?, ?, ?, ?>) TLSPlacebo.getInstance();
    }

    /** The 503 goes out before the client's request is read (the answer is the same for any request); then the connection closes. */
    private void refuse(Tcp.IncomingConnection connection) {
        connection.handleWith(Flow.fromSinkAndSourceCoupled(Sink.<ByteString>ignore(), Source.single(refusal)), system);
        refusedUnlogged++;
        long now = System.nanoTime();
        if (now - refusalLoggedAt < REFUSAL_LOG_INTERVAL_NANOS) return;
        LOG.warn("refused {} HTTP connection(s) since the last such line, the latest from {}: {} connections are open, "
                + "the limit expertmesh.http.max-connections", refusedUnlogged, connection.remoteAddress(), open.get());
        refusedUnlogged = 0;
        refusalLoggedAt = now;
    }

    private static ByteString refusal(int maxConnections) {
        byte[] body = Json.write(ApiException.unavailable("the server has " + maxConnections
                + " connections open, its limit (expertmesh.http.max-connections); retry later").toJson()).getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n";
        return ByteString.fromString(head, StandardCharsets.US_ASCII).concat(ByteString.fromArray(body));
    }
}
