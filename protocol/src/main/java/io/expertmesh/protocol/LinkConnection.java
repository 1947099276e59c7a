package io.expertmesh.protocol;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;

/** One end of an open dispatch link ({@link LinkTransport}): frames are read from {@link #in} and written to {@link #out}. */
public final class LinkConnection implements AutoCloseable {
    private final Socket socket;
    private final BufferedInputStream wire;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final LinkSeal seal;

    /** {@code wire} is the buffered socket input below {@code in}; {@code seal} the sending direction's, or null on a plaintext link. */
    LinkConnection(Socket socket, BufferedInputStream wire, DataInputStream in, DataOutputStream out, LinkSeal seal) {
        this.socket = socket;
        this.wire = wire;
        this.in = in;
        this.out = out;
        this.seal = seal;
    }

    public Socket socket() {
        return socket;
    }

    public DataInputStream in() {
        return in;
    }

    public DataOutputStream out() {
        return out;
    }

    /** True once this connection has sent so much under its key that it should be replaced by a new one. */
    public boolean wornOut() {
        return seal != null && seal.wornOut();
    }

    /** Blocks until the peer has sent at least one more byte, without consuming it; throws at the end of the stream. */
    public void awaitData() throws IOException {
        wire.mark(1);
        int b = wire.read();
        wire.reset();
        if (b < 0) throw new EOFException();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
