package io.expertmesh.protocol;

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

    /**
     * Reads sealed records straight from the socket and serves their bytes; a record that does not
     * open ends the stream with an IOException. What comes off the socket lands in one buffer that
     * the records open from, so a record is copied only by its decryption.
     */
    static final class Input extends InputStream {
        private final LinkSeal seal;
        private final InputStream wire;
        private final int maxRecord;
        private byte[] plain = new byte[0];
        /** Bytes from the wire not yet opened are [start, end); it grows only as bytes arrive: a length is the peer's word until the tag checks. */
        private byte[] received;
        private int start;
        private int end;
        private int position;
        private int size;

        /** Reads {@code wire} into a buffer of {@code initialBuffer} bytes, grown for larger records up to what a record of {@code maxRecord} takes. */
        Input(LinkSeal seal, InputStream wire, int maxRecord, int initialBuffer) {
            this.seal = seal;
            this.wire = wire;
            this.maxRecord = maxRecord;
            if (initialBuffer < 1) throw new IllegalArgumentException("a link's record buffer must start at 1 byte or more, got " + initialBuffer);
            this.received = new byte[initialBuffer];
        }

        /** Blocks until the peer has sent at least one byte more than has been read, without consuming it; throws at the end of the stream. */
        void awaitData() throws IOException {
            if (position < size) return;
            if (!receive(1)) throw new EOFException();
        }

        /** Reads from the wire until {@code need} bytes from {@link #start} are buffered; false if the stream ends first. */
        private boolean receive(long need) throws IOException {
            if (start == end) start = end = 0;
            while (end - start < need) {
                if (end == received.length) {
                    if (start > 0) {
                        System.arraycopy(received, start, received, 0, end - start);
                        end -= start;
                        start = 0;
                    } else {
                        received = Arrays.copyOf(received, (int) Math.min(need, 2L * received.length));
                    }
                }
                int r = wire.read(received, end, received.length - end);
                if (r < 0) return false;
                end += r;
            }
            return true;
        }

        private boolean fill() throws IOException {
            if (!receive(4)) {
                if (start == end) return false;
                throw new EOFException("dispatch link record ended after " + (end - start) + " of its 4 length bytes");
            }
            int n = ByteBuffer.wrap(received, start, 4).getInt();
            if (n < TAG_BYTES || n - TAG_BYTES > maxRecord || 4L + n > Integer.MAX_VALUE - 8) throw new IOException("dispatch link record of " + n + " bytes is outside its limits");
            if (!receive(4L + n)) throw new EOFException("dispatch link record ended after " + (end - start - 4) + " of " + n + " bytes");
            if (plain.length < n - TAG_BYTES) plain = new byte[n - TAG_BYTES];
            try {
                seal.cipher.init(Cipher.DECRYPT_MODE, seal.key, seal.nextNonce());
                size = seal.cipher.doFinal(received, start + 4, n, plain, 0);
            } catch (GeneralSecurityException e) {
                throw new IOException("dispatch link record does not open (altered, replayed, reordered or from another connection)", e);
            }
            start += 4 + n;
            seal.bytes += size;
            if (seal.bytes >= 2 * KEY_BYTE_LIMIT) throw new IOException("dispatch link peer kept one key past its limit");
            position = 0;
            return true;
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
