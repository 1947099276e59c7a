package io.expertmesh.experts;

import io.expertmesh.protocol.DispatchBatch;
import io.expertmesh.protocol.DispatchFrames;
import io.expertmesh.protocol.DispatchRefused;
import io.expertmesh.protocol.DispatchReply;
import io.expertmesh.protocol.MeshMessage;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;

/**
 * The expert node's end of the dispatch links: a TCP listener on the node's host. Each attention
 * node keeps one connection, served by its own thread, which reads a {@link DispatchBatch},
 * runs it on the node's {@link ServedExperts} and writes the one reply. The thread that reads the
 * batch computes it, so a MoE layer costs one wake-up at each end instead of the four or more hand-offs
 * of a message through the actor transport.
 */
final class DispatchLinkServer implements AutoCloseable {
    /** One connection per attention node is the norm; the cap keeps stray peers from costing a thread each without bound. */
    private static final int MAX_CONNECTIONS = 256;

    private final ServerSocket listener;
    private final DispatchFrames frames;
    private final ServedExperts served;
    private final Logger log;
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /** Binds {@code host:port} (port 0: any free one) and starts accepting. */
    DispatchLinkServer(String host, int port, DispatchFrames frames, ServedExperts served, Logger log) throws IOException {
        this.frames = frames;
        this.served = served;
        this.log = log;
        this.listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getByName(host), port));
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
                if (connections.size() >= MAX_CONNECTIONS) {
                    log.warn("dispatch link listener on {} refuses {}: {} connections are open", address(), socket.getRemoteSocketAddress(),
                            MAX_CONNECTIONS);
                    socket.close();
                    continue;
                }
                socket.setTcpNoDelay(true);
                connections.add(socket);
                Thread.ofPlatform().daemon().name("dispatch-link-" + socket.getRemoteSocketAddress()).start(() -> serve(socket));
            } catch (IOException e) {
                if (!closed) log.warn("dispatch link listener on {} failed to accept: {}", address(), e.toString());
            }
        }
    }

    private void serve(Socket socket) {
        try (socket;
             var in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
             var out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16))) {
            while (!closed) {
                MeshMessage message = frames.read(in).message();
                if (!(message instanceof DispatchBatch batch)) {
                    throw new IOException("expected a dispatch batch, got a " + message.getClass().getSimpleName());
                }
                frames.write(out, answer(batch));
            }
        } catch (EOFException e) {
            log.debug("dispatch link from {} closed", socket.getRemoteSocketAddress());
        } catch (IOException e) {
            if (!closed) log.warn("dispatch link from {} dropped: {}", socket.getRemoteSocketAddress(), e.toString());
        } finally {
            connections.remove(socket);
        }
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
