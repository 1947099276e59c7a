package io.expertmesh.attention;

import io.expertmesh.protocol.DispatchBatch;
import io.expertmesh.protocol.DispatchFrames;
import io.expertmesh.protocol.DispatchReply;
import io.expertmesh.protocol.ExpertHostProtocol;
import io.expertmesh.protocol.LinkConnection;
import io.expertmesh.protocol.LinkTransport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An attention node's ends of its dispatch links: one connection per expert host
 * ({@link ExpertHostProtocol.HostedExperts#link()}), opened on first use (mutual TLS when the node
 * has cluster keys). A batch is sent to every
 * destination before any reply is read, so the expert nodes compute at the same time. Any failure
 * (refused connection, reset, timeout, a reply that does not match) drops that connection, so a late
 * reply can never be taken for the answer to a later batch; the next batch opens a new one.
 *
 * <p>Sends and receives come from one thread at a time (the thread that runs the model's steps);
 * {@link #close} may come from another, and fails a read in progress.
 */
public final class DispatchLinks implements AutoCloseable {
    private final DispatchFrames frames;
    private final LinkTransport transport;
    private final int timeoutMillis;
    private final Map<String, LinkConnection> open = new ConcurrentHashMap<>();

    /** A host's answer to a batch and the bytes its frame took on the wire. */
    public record Reply(DispatchReply reply, int bytes) {}

    /** Connections are opened with {@code transport}; {@code replyTimeout}: how long connecting, and waiting for a reply, may take. */
    public DispatchLinks(DispatchFrames frames, LinkTransport transport, Duration replyTimeout) {
        this.frames = frames;
        this.transport = transport;
        this.timeoutMillis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, replyTimeout.toMillis()));
    }

    /** Sends a batch to the host at {@code link} ({@code host:port}); returns the bytes its frame took. On failure the connection is dropped. */
    public int send(String link, DispatchBatch batch) throws IOException {
        try {
            return frames.write(connection(link).out(), batch);
        } catch (IOException e) {
            drop(link);
            throw e;
        }
    }

    /**
     * The reply to the batch last sent on {@code link} and the bytes its frame took; throws (and
     * drops the connection) when none comes within the reply timeout or it answers another batch.
     */
    public Reply receive(String link, DispatchBatch sent) throws IOException {
        LinkConnection c = open.get(link);
        if (c == null) throw new IOException("no open dispatch link to " + link);
        try {
            DispatchFrames.Received received = frames.read(c.in());
            if (!(received.message() instanceof DispatchReply reply)) {
                throw new IOException("expected a dispatch reply, got a " + received.message().getClass().getSimpleName());
            }
            if (reply.step() != sent.step() || reply.layer() != sent.layer()) {
                throw new IOException("reply for step " + reply.step() + " layer " + reply.layer() + " to a batch of step "
                        + sent.step() + " layer " + sent.layer());
            }
            // A link that has carried its key's worth is replaced between batches, never during one.
            if (c.wornOut()) drop(link);
            return new Reply(reply, received.bytes());
        } catch (IOException e) {
            drop(link);
            throw e;
        }
    }

    private LinkConnection connection(String link) throws IOException {
        LinkConnection c = open.get(link);
        if (c != null) return c;
        int colon = link.lastIndexOf(':');
        if (colon <= 0) throw new IOException("dispatch link address \"" + link + "\" is not host:port");
        InetSocketAddress address;
        try {
            address = new InetSocketAddress(link.substring(0, colon), Integer.parseInt(link.substring(colon + 1)));
        } catch (RuntimeException e) {
            throw new IOException("dispatch link address \"" + link + "\" is not host:port: " + e.getMessage(), e);
        }
        c = transport.connect(address, timeoutMillis, frames.largestFrameOnWire());
        open.put(link, c);
        return c;
    }

    /** Closes the connection to {@code link}, if open. */
    public void drop(String link) {
        LinkConnection c = open.remove(link);
        if (c == null) return;
        try {
            c.close();
        } catch (IOException ignored) {
            // Already broken; nothing more to release.
        }
    }

    @Override
    public void close() {
        for (String link : Map.copyOf(open).keySet()) drop(link);
    }
}
