package io.expertmesh.protocol;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * How dispatch link connections are opened: authenticated with the node's {@link ClusterKeys}, or
 * plain TCP where the node has none (tests, and nodes started with {@code --insecure}).
 *
 * <p>With keys, both ends run a TLS 1.3 handshake over the TCP connection in which each must present
 * a certificate from the cluster's CA, exchange one byte through TLS (so that nothing of TLS is still
 * in flight), export a key per direction from the handshake, and from then on seal every frame with
 * {@link LinkSeal}. Nothing a peer sends before its handshake completes is read as a frame.
 */
public final class LinkTransport {
    private static final String EXPORTER_LABEL = "EXPERIMENTAL-expertmesh-dispatch-link";
    private static final int KEY_BYTES = 32;
    /** Larger than a 16-stream dispatch frame, so a frame or sealed record usually comes in with one read from the socket. */
    static final int BUFFER = 1 << 16;
    /**
     * What an accepted (server-side) sealed link's socket buffer starts at: anyone may open one, so it
     * starts small (255 stalled inbound links with 64 KiB each pushed an expert node past the 100 MB the
     * hostile-frames test allows). Outbound links go only to expert nodes this node chose, and take {@link #BUFFER}.
     */
    static final int INBOUND_SEALED_BUFFER = 8 * 1024;

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

    /** A TCP listener on {@code address}; {@link #accept} authenticates what it accepts. */
    public ServerSocket listen(InetSocketAddress address) throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(address);
        return s;
    }

    /**
     * Authenticates a connection the listener accepted (within the socket's read timeout, which the
     * caller sets) and returns its link end, carrying records of at most {@code maxRecord} bytes.
     */
    public LinkConnection accept(Socket accepted, int maxRecord) throws IOException {
        accepted.setTcpNoDelay(true);
        if (tls == null) return plain(accepted);
        SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(accepted, null, false);
        ssl.setEnabledProtocols(new String[] {ClusterKeys.PROTOCOL});
        ssl.setNeedClientAuth(true);
        ssl.startHandshake();
        if (ssl.getInputStream().read() != 'C') throw new IOException("dispatch link peer did not finish the handshake");
        ssl.getOutputStream().write('S');
        ssl.getOutputStream().flush();
        return sealed(accepted, ssl, false, maxRecord);
    }

    /** A link to {@code address}, authenticated both ways; connecting and the handshake each take at most {@code timeoutMillis}. */
    public LinkConnection connect(InetSocketAddress address, int timeoutMillis, int maxRecord) throws IOException {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(timeoutMillis);
            socket.connect(address, timeoutMillis);
            if (tls == null) return plain(socket);
            SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(socket, address.getHostString(), address.getPort(), false);
            ssl.setEnabledProtocols(new String[] {ClusterKeys.PROTOCOL});
            ssl.setUseClientMode(true);
            ssl.startHandshake();
            ssl.getOutputStream().write('C');
            ssl.getOutputStream().flush();
            // Read through TLS: this also takes in the server's session tickets, so none are left on the wire.
            if (ssl.getInputStream().read() != 'S') throw new IOException("dispatch link host did not finish the handshake");
            return sealed(socket, ssl, true, maxRecord);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    private static LinkConnection plain(Socket socket) throws IOException {
        var wire = new BufferedInputStream(socket.getInputStream(), BUFFER);
        return new LinkConnection(socket, new DataInputStream(wire), new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), BUFFER)),
                () -> LinkConnection.awaitBuffered(wire), null);
    }

    private static LinkConnection sealed(Socket socket, SSLSocket ssl, boolean client, int maxRecord) throws IOException {
        byte[] keys = ((ExtendedSSLSession) ssl.getSession()).exportKeyingMaterialData(EXPORTER_LABEL, null, 2 * KEY_BYTES);
        byte[] toServer = Arrays.copyOfRange(keys, 0, KEY_BYTES);
        byte[] toClient = Arrays.copyOfRange(keys, KEY_BYTES, 2 * KEY_BYTES);
        Arrays.fill(keys, (byte) 0);
        var in = new LinkSeal.Input(new LinkSeal(client ? toClient : toServer), socket.getInputStream(), maxRecord,
                client ? BUFFER : INBOUND_SEALED_BUFFER);
        LinkSeal sending = new LinkSeal(client ? toServer : toClient);
        // Unbuffered: a sealed record is one write of its own buffer.
        var out = new LinkSeal.Output(sending, socket.getOutputStream(), maxRecord);
        return new LinkConnection(socket, new DataInputStream(in), new DataOutputStream(out), in::awaitData, sending);
    }
}
