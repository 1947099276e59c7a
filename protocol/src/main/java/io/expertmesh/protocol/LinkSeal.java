package io.expertmesh.protocol;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The record layer of an authenticated dispatch link: what is written between two flushes travels as
 * one record, {@code [4-byte length][AES-256-GCM ciphertext and 16-byte tag]}, under a key per
 * direction that both ends exported from their TLS 1.3 handshake (RFC 8446 section 7.5). The nonce is
 * the record's sequence number, so a record that is altered, dropped, replayed or reordered fails to
 * open and ends the connection.
 *
 * <p>Why not TLS records themselves: the JDK's {@code SSLSocket} added about 40 µs to every round trip
 * on loopback (64 B to 20 KB), more than this layer's few µs, on a path where a tiny model's MoE layer
 * takes 150 µs. The handshake, certificates and key agreement stay TLS's.
 *
 * <p>Why encrypt rather than only authenticate: on AES-NI/VAES CPUs AES-GCM costs less per record
 * than GMAC, Poly1305 or HMAC-SHA256 alone in this JDK ({@code scripts/bench-link-ciphers}).
 */
final class LinkSeal {
    static final int TAG_BYTES = 16;
    /** What a link's record buffers start at; they grow with the records it carries, so an idle or stalled link costs little memory. */
    private static final int INITIAL_BUFFER = 8 * 1024;
    /** Bytes sealed under one key before the connection must be replaced: far inside AES-GCM's limits (NIST SP 800-38D, RFC 8446 5.5). */
    static final long KEY_BYTE_LIMIT = 1L << 36;

    private final Cipher cipher;
    private final SecretKeySpec key;
    private final byte[] nonce = new byte[12];
    private long sequence;
    private long bytes;

    LinkSeal(byte[] key) {
        this.key = new SecretKeySpec(key, "AES");
        try {
            this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM is not available in this JDK", e);
        }
    }

    private GCMParameterSpec nextNonce() throws IOException {
        if (sequence == Long.MAX_VALUE) throw new IOException("dispatch link ran out of record numbers");
        ByteBuffer.wrap(nonce, 4, 8).putLong(sequence++);
        return new GCMParameterSpec(TAG_BYTES * 8, nonce);
    }

    /** True once this direction has carried enough under its key that the connection should be replaced. */
    boolean wornOut() {
        return bytes >= KEY_BYTE_LIMIT;
    }

    /** Buffers what is written and sends it as one sealed record, length included, in one write on flush. */
    static final class Output extends OutputStream {
        private final LinkSeal seal;
        private final OutputStream wire;
        private final int maxRecord;
        private byte[] plain = new byte[INITIAL_BUFFER];
        private byte[] sealed = new byte[4 + INITIAL_BUFFER + TAG_BYTES];
        private int size;

        Output(LinkSeal seal, OutputStream wire, int maxRecord) {
            this.seal = seal;
            this.wire = wire;
            this.maxRecord = maxRecord;
        }

        @Override
        public void write(int b) throws IOException {
            ensure(1);
            plain[size++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            ensure(len);
            System.arraycopy(b, off, plain, size, len);
            size += len;
        }

        private void ensure(int more) throws IOException {
            if ((long) size + more > maxRecord) throw new IOException("dispatch link record over " + maxRecord + " bytes");
            if (size + more > plain.length) plain = Arrays.copyOf(plain, Math.min(maxRecord, Math.max(size + more, plain.length * 2)));
        }

        @Override
        public void flush() throws IOException {
            if (size == 0) return;
            if (sealed.length < 4 + size + TAG_BYTES) sealed = new byte[4 + plain.length + TAG_BYTES];
            int n;
            try {
                seal.cipher.init(Cipher.ENCRYPT_MODE, seal.key, seal.nextNonce());
                n = seal.cipher.doFinal(plain, 0, size, sealed, 4);
            } catch (GeneralSecurityException e) {
                throw new IOException("sealing a dispatch link record failed: " + e.getMessage(), e);
            }
            seal.bytes += size;
            size = 0;
            ByteBuffer.wrap(sealed, 0, 4).putInt(n);
            wire.write(sealed, 0, 4 + n);
            wire.flush();
        }

        @Override
        public void close() throws IOException {
            wire.close();
        }
    }

    /** Reads sealed records and serves their bytes; a record that does not open ends the stream with an IOException. */
    static final class Input extends InputStream {
        private final LinkSeal seal;
        private final DataInputStream wire;
        private final int maxRecord;
        private byte[] plain = new byte[0];
        private byte[] sealed = new byte[INITIAL_BUFFER];
        private int position;
        private int size;

        Input(LinkSeal seal, InputStream wire, int maxRecord) {
            this.seal = seal;
            this.wire = new DataInputStream(wire);
            this.maxRecord = maxRecord;
        }

        private boolean fill() throws IOException {
            int n;
            try {
                n = wire.readInt();
            } catch (EOFException e) {
                return false;
            }
            if (n < TAG_BYTES || n - TAG_BYTES > maxRecord) throw new IOException("dispatch link record of " + n + " bytes is outside its limits");
            readSealed(n);
            if (plain.length < n - TAG_BYTES) plain = new byte[n - TAG_BYTES];
            try {
                seal.cipher.init(Cipher.DECRYPT_MODE, seal.key, seal.nextNonce());
                size = seal.cipher.doFinal(sealed, 0, n, plain, 0);
            } catch (GeneralSecurityException e) {
                throw new IOException("dispatch link record does not open (altered, replayed, reordered or from another connection)", e);
            }
            seal.bytes += size;
            if (seal.bytes >= 2 * KEY_BYTE_LIMIT) throw new IOException("dispatch link peer kept one key past its limit");
            position = 0;
            return true;
        }

        /** Reads a record of {@code n} bytes into {@link #sealed}, which grows only as bytes arrive: the length is the peer's word until the tag checks. */
        private void readSealed(int n) throws IOException {
            int got = 0;
            while (got < n) {
                if (got == sealed.length) sealed = Arrays.copyOf(sealed, (int) Math.min(n, 2L * sealed.length));
                int r = wire.read(sealed, got, Math.min(n, sealed.length) - got);
                if (r < 0) throw new EOFException("dispatch link record ended after " + got + " of " + n + " bytes");
                got += r;
            }
        }

        @Override
        public int read() throws IOException {
            while (position == size) {
                if (!fill()) return -1;
            }
            return plain[position++] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) return 0;
            while (position == size) {
                if (!fill()) return -1;
            }
            int n = Math.min(len, size - position);
            System.arraycopy(plain, position, b, off, n);
            position += n;
            return n;
        }

        @Override
        public int available() {
            return size - position;
        }

        @Override
        public void close() throws IOException {
            wire.close();
        }
    }
}
