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
    private final DataInputStream in;
    private final DataOutputStream out;
    private final DataWait dataWait;
    private final LinkSeal seal;

    /** How a link's input waits for the peer's next bytes without consuming them. */
    interface DataWait {
        void await() throws IOException;
    }

    /** {@code dataWait} waits on the buffer below {@code in}; {@code seal} is the sending direction's, or null on a plaintext link. */
    LinkConnection(Socket socket, DataInputStream in, DataOutputStream out, DataWait dataWait, LinkSeal seal) {
        this.socket = socket;
        this.in = in;
        this.out = out;
        this.dataWait = dataWait;
        this.seal = seal;
    }

    /** {@link DataWait} of a plaintext link, whose frames are read through {@code wire}. */
    static void awaitBuffered(BufferedInputStream wire) throws IOException {
        wire.mark(1);
        int b = wire.read();
        wire.reset();
        if (b < 0) throw new EOFException();
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
        dataWait.await();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
