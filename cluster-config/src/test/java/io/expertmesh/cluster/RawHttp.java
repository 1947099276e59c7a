package io.expertmesh.cluster;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A hand-driven HTTP/1.1 connection, so a test can read part of a stream and then drop the connection. */
final class RawHttp implements AutoCloseable {
    private final Socket socket;
    private final BufferedReader in;

    RawHttp(int port, String path, String body) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(60_000);
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length
                + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
        in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
    }

    String statusLine() throws IOException {
        return in.readLine();
    }

    /** Reads lines until one starts with {@code prefix}; returns it. */
    String readLineStartingWith(String prefix) throws IOException {
        String line;
        while ((line = in.readLine()) != null) {
            if (line.startsWith(prefix)) return line;
        }
        throw new IOException("connection ended before a line starting with " + prefix);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
