package io.expertmesh.experts;

import io.expertmesh.protocol.DispatchBatch;
import io.expertmesh.protocol.DispatchFrames;
import io.expertmesh.protocol.DispatchRefused;
import io.expertmesh.protocol.DispatchReply;
import io.expertmesh.protocol.LinkConnection;
import io.expertmesh.protocol.LinkTransport;
import io.expertmesh.protocol.MeshMessage;
import io.expertmesh.protocol.PeerFailureLog;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;

/**
 * The expert node's end of the dispatch links: a listener on the node's host. Each attention node
 * keeps one connection, served by its own thread, which authenticates the peer (mutual TLS when the
 * node has cluster keys), then reads a {@link DispatchBatch}, runs it on the node's
 * {@link ServedExperts} and writes the one reply. The thread that reads the batch computes it, so a
 * MoE layer costs one wake-up at each end instead of the four or more hand-offs of a message through
 * the actor transport.
 *
 * <p>What a peer can cost before it is authenticated is bounded: at most
 * {@link ExpertHostSettings#maxUnauthenticatedLinks()} connections handshake at once (the newest
 * beyond it is closed), each for at most the handshake timeout, and none of its bytes are decoded.
 */
final class DispatchLinkServer implements AutoCloseable {
    /** Authenticated connections: one per attention node is the norm; the cap bounds the threads a misbehaving cluster member can take. */
    private static final int MAX_CONNECTIONS = 256;
    private final ServerSocket listener;
    private final LinkTransport transport;
    private final ExpertHostSettings settings;
    private final DispatchFrames frames;
    private final ServedExperts served;
    private final Logger log;
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger authenticating = new AtomicInteger();
    private final PeerFailureLog failures;
    private volatile boolean closed;

    /** Binds {@code host:settings.linkPort()} (port 0: any free one) and starts accepting. */
    DispatchLinkServer(String host, ExpertHostSettings settings, LinkTransport transport, DispatchFrames frames, ServedExperts served,
                       Logger log) throws IOException {
        this.settings = settings;
        this.transport = transport;
        this.frames = frames;
        this.served = served;
        this.log = log;
        this.failures = new PeerFailureLog(log);
        this.listener = transport.listen(new InetSocketAddress(InetAddress.getByName(host), settings.linkPort()));
        Thread.ofPlatform().daemon().name("dispatch-link-accept").start(this::accept);
    }

    /** {@code host:port} that attention nodes connect to. */
    String address() {
        return listener.getInetAddress().getHostAddress() + ":" + listener.getLocalPort();
    }

    private void accept() {
        while (!closed) {
            try {
                Socket socket = listener.accept();
                if (authenticating.get() >= settings.maxUnauthenticatedLinks() || connections.size() >= MAX_CONNECTIONS) {
                    peerFailed(socket, "refused: " + authenticating.get() + " connections are authenticating and " + connections.size()
                            + " are open (expertmesh.experts.max-unauthenticated-links = " + settings.maxUnauthenticatedLinks() + ")");
                    socket.close();
                    continue;
                }
                authenticating.incrementAndGet();
                connections.add(socket);
                Thread.ofPlatform().daemon().name("dispatch-link-" + socket.getRemoteSocketAddress()).start(() -> serve(socket));
            } catch (IOException e) {
                if (!closed) log.warn("dispatch link listener on {} failed to accept: {}", address(), e.toString());
            }
        }
    }

    private void serve(Socket socket) {
        boolean authenticated = false;
        try (socket) {
            socket.setSoTimeout((int) settings.handshakeTimeout().toMillis());
            LinkConnection link;
            try {
                link = transport.accept(socket, frames.largestFrameOnWire());
            } catch (IOException e) {
                peerFailed(socket, "not authenticated: " + e.getMessage());
                return;
            } finally {
                authenticating.decrementAndGet();
            }
            authenticated = true;
            while (!closed) {
                // An idle link stays open without limit; once a frame starts, the rest gets the frame timeout.
                socket.setSoTimeout(0);
                link.awaitData();
                socket.setSoTimeout((int) settings.frameTimeout().toMillis());
                MeshMessage message = frames.read(link.in()).message();
                if (!(message instanceof DispatchBatch batch)) {
                    throw new IOException("expected a dispatch batch, got a " + message.getClass().getSimpleName());
                }
                frames.write(link.out(), answer(batch));
            }
        } catch (EOFException e) {
            log.debug("dispatch link from {} closed", socket.getRemoteSocketAddress());
        } catch (IOException e) {
            if (!closed && authenticated) peerFailed(socket, "dropped: " + e);
        } finally {
            connections.remove(socket);
        }
    }

    private void peerFailed(Socket socket, String what) {
        failures.failed(socket.getInetAddress().getHostAddress(), "dispatch link on " + address() + " from " + socket.getRemoteSocketAddress() + " " + what);
    }

    private DispatchReply answer(DispatchBatch batch) {
        try {
            return served.answer(batch);
        } catch (RuntimeException e) {
            log.error("expert batch of step {} layer {} failed", batch.step(), batch.layer(), e);
            return new DispatchRefused(batch.step(), batch.layer(), served.node(), "expert compute failed: " + e);
        }
    }

    /** Stops accepting and drops every connection; a batch in flight fails at its sender, which retries elsewhere. */
    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException e) {
            log.debug("closing the dispatch link listener: {}", e.toString());
        }
        for (Socket s : connections) {
            try {
                s.close();
            } catch (IOException e) {
                log.debug("closing a dispatch link: {}", e.toString());
            }
        }
    }
}
