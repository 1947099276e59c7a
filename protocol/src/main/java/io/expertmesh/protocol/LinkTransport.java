package io.expertmesh.protocol;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * How a dispatch link's sockets are opened: mutual TLS with the node's {@link ClusterKeys}, or plain
 * TCP where the node has none (tests, and nodes started with {@code --insecure}). Both ends finish
 * the handshake before a frame is read or written, so an unauthenticated peer never reaches the
 * frame decoder or the experts.
 */
public final class LinkTransport {
    private final SSLContext tls;

    private LinkTransport(SSLContext tls) {
        this.tls = tls;
    }

    public static LinkTransport plaintext() {
        return new LinkTransport(null);
    }

    public static LinkTransport mutualTls(ClusterKeys keys) {
        return new LinkTransport(keys.sslContext());
    }

    public boolean encrypted() {
        return tls != null;
    }

    /** A listener on {@code address} whose connections must present a certificate from the cluster's CA. */
    public ServerSocket listen(InetSocketAddress address) throws IOException {
        if (tls == null) {
            ServerSocket s = new ServerSocket();
            s.bind(address);
            return s;
        }
        var s = (SSLServerSocket) tls.getServerSocketFactory().createServerSocket();
        s.setEnabledProtocols(new String[] {ClusterKeys.PROTOCOL});
        s.setNeedClientAuth(true);
        s.bind(address);
        return s;
    }

    /**
     * Authenticates a connection {@link #listen}'s listener accepted: returns once the peer's
     * certificate is verified, or throws (a timeout after the socket's read timeout).
     */
    public void authenticate(Socket accepted) throws IOException {
        if (accepted instanceof SSLSocket ssl) ssl.startHandshake();
    }

    /** A connection to {@code address}, authenticated both ways; connecting and the handshake each take at most {@code timeoutMillis}. */
    public Socket connect(InetSocketAddress address, int timeoutMillis) throws IOException {
        Socket socket = tls == null ? new Socket() : tls.getSocketFactory().createSocket();
        try {
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(timeoutMillis);
            socket.connect(address, timeoutMillis);
            if (socket instanceof SSLSocket ssl) {
                ssl.setEnabledProtocols(new String[] {ClusterKeys.PROTOCOL});
                ssl.startHandshake();
            }
            return socket;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }
}
