package io.expertmesh.protocol;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * Writes the keys of a secured cluster with the JDK alone: a CA (P-256 key, self-signed certificate)
 * and, per node, a P-256 key with a certificate the CA signed for TLS client and server use, in the
 * layout {@link ClusterKeys#load} reads. The certificates are DER built here (X.509 v3 with basic
 * constraints, key usage and extended key usage), so no keytool or openssl process runs.
 */
public final class ClusterCertificates {
    public static final String CA_DIRECTORY = "ca";
    public static final String CA_KEY_STORE = "ca.p12";
    private static final Pattern NODE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final SecureRandom RANDOM = new SecureRandom();

    /** The cluster's CA, able to sign node certificates. */
    public record Authority(PrivateKey key, X509Certificate certificate) {}

    private ClusterCertificates() {}

    /** A node name that is also a safe directory name; "ca" is the CA's directory. */
    public static void checkNodeName(String name) {
        if (!NODE_NAME.matcher(name).matches() || name.equals(CA_DIRECTORY)) {
            throw new IllegalArgumentException("node name '" + name + "' must be 1 to 64 letters, digits, '.', '_' or '-', start with a letter "
                    + "or digit, and not be '" + CA_DIRECTORY + "'");
        }
    }

    /** The CA in {@code out/ca}, created there (valid for {@code validity}) when absent. */
    public static Authority authority(Path out, Duration validity) {
        Path dir = out.resolve(CA_DIRECTORY);
        Path store = dir.resolve(CA_KEY_STORE);
        try {
            if (Files.exists(store)) {
                String password = Files.readString(dir.resolve(ClusterKeys.PASSWORD), StandardCharsets.UTF_8).strip();
                KeyStore ks = KeyStore.getInstance("PKCS12");
                try (var in = Files.newInputStream(store)) {
                    ks.load(in, password.toCharArray());
                }
                return new Authority((PrivateKey) ks.getKey("ca", password.toCharArray()), (X509Certificate) ks.getCertificate("ca"));
            }
            KeyPair pair = newKeyPair();
            X509Certificate cert = certificate(name("ExpertMesh cluster CA"), pair, name("ExpertMesh cluster CA"), pair.getPrivate(), validity, true);
            String password = newPassword();
            createPrivateDirectory(dir);
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("ca", pair.getPrivate(), password.toCharArray(), new Certificate[] {cert});
            writeStore(ks, store, password);
            writePrivate(dir.resolve(ClusterKeys.PASSWORD), password.getBytes(StandardCharsets.UTF_8));
            return new Authority(pair.getPrivate(), cert);
        } catch (IOException e) {
            throw new UncheckedIOException("cluster keys: " + store + ": " + e.getMessage(), e);
        } catch (GeneralSecurityException | ClassCastException e) {
            throw new IllegalArgumentException("cluster keys: cannot read the CA in " + store + ": " + e.getMessage(), e);
        }
    }

    /** Writes {@code out/name}: the node's key and CA-signed certificate, the CA certificate to trust, and their password. */
    public static Path node(Path out, Authority ca, String name, Duration validity) {
        checkNodeName(name);
        Path dir = out.resolve(name);
        try {
            createPrivateDirectory(dir);
            KeyPair pair = newKeyPair();
            X509Certificate cert = certificate(name(name), pair, ca.certificate().getSubjectX500Principal().getEncoded(), ca.key(), validity,
                    false);
            String password = newPassword();
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("node", pair.getPrivate(), password.toCharArray(), new Certificate[] {cert, ca.certificate()});
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", ca.certificate());
            writeStore(keys, dir.resolve(ClusterKeys.KEY_STORE), password);
            writeStore(trust, dir.resolve(ClusterKeys.TRUST_STORE), password);
            writePrivate(dir.resolve(ClusterKeys.PASSWORD), password.getBytes(StandardCharsets.UTF_8));
            return dir;
        } catch (FileAlreadyExistsException e) {
            throw new IllegalArgumentException("cluster keys: " + dir + " already exists; remove it to make new keys for node '" + name + "'", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cluster keys: " + dir + ": " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cluster keys for node '" + name + "': " + e.getMessage(), e);
        }
    }

    private static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return g.generateKeyPair();
    }

    private static String newPassword() {
        byte[] b = new byte[24];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static void createPrivateDirectory(Path dir) throws IOException {
        Files.createDirectories(dir.getParent());
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (UnsupportedOperationException e) {
            Files.createDirectory(dir);
        }
    }

    private static void writeStore(KeyStore store, Path path, String password) throws IOException, GeneralSecurityException {
        var bytes = new ByteArrayOutputStream();
        store.store(bytes, password.toCharArray());
        writePrivate(path, bytes.toByteArray());
    }

    private static void writePrivate(Path path, byte[] bytes) throws IOException {
        try (OutputStream out = Files.newOutputStream(path, StandardOpenOption.CREATE_NEW)) {
            out.write(bytes);
        }
        try {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: the directory's own permissions are all there is.
        }
    }

    // --- X.509 v3 in DER (RFC 5280) ---

    private static final byte[] ECDSA_WITH_SHA256 = oid(1, 2, 840, 10045, 4, 3, 2);
    private static final byte[] COMMON_NAME = oid(2, 5, 4, 3);
    private static final byte[] BASIC_CONSTRAINTS = oid(2, 5, 29, 19);
    private static final byte[] KEY_USAGE = oid(2, 5, 29, 15);
    private static final byte[] EXTENDED_KEY_USAGE = oid(2, 5, 29, 37);
    private static final byte[] SERVER_AUTH = oid(1, 3, 6, 1, 5, 5, 7, 3, 1);
    private static final byte[] CLIENT_AUTH = oid(1, 3, 6, 1, 5, 5, 7, 3, 2);
    private static final byte[] TRUE = {0x01, 0x01, (byte) 0xFF};

    /** A certificate for {@code subject}'s key, signed by {@code issuerKey}; a CA may sign certificates, a node only authenticate. */
    private static X509Certificate certificate(byte[] subject, KeyPair subjectKeys, byte[] issuer, PrivateKey issuerKey, Duration validity,
                                               boolean ca) throws GeneralSecurityException {
        byte[] algorithm = seq(ECDSA_WITH_SHA256);
        Instant now = Instant.now();
        byte[] serial = new byte[16];
        RANDOM.nextBytes(serial);
        byte[] extensions = ca
                ? seq(extension(BASIC_CONSTRAINTS, true, seq(TRUE)),
                      extension(KEY_USAGE, true, bitString(0x06, 1)))  // keyCertSign, cRLSign
                : seq(extension(BASIC_CONSTRAINTS, true, seq()),
                      extension(KEY_USAGE, true, bitString(0x80, 7)),  // digitalSignature
                      extension(EXTENDED_KEY_USAGE, false, seq(SERVER_AUTH, CLIENT_AUTH)));
        byte[] tbs = seq(
                tlv(0xA0, tlv(0x02, new byte[] {2})),
                tlv(0x02, new BigInteger(1, serial).toByteArray()),
                algorithm,
                issuer,
                seq(time(now.minus(Duration.ofMinutes(5))), time(now.plus(validity))),
                subject,
                subjectKeys.getPublic().getEncoded(),
                tlv(0xA3, extensions));
        Signature signer = Signature.getInstance("SHA256withECDSA");
        signer.initSign(issuerKey, RANDOM);
        signer.update(tbs);
        byte[] der = seq(tbs, algorithm, bitString(signer.sign()));
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
    }

    private static byte[] name(String commonName) {
        return seq(tlv(0x31, seq(COMMON_NAME, tlv(0x0C, commonName.getBytes(StandardCharsets.UTF_8)))));
    }

    /** UTCTime through 2049, GeneralizedTime after, as RFC 5280 asks. */
    private static byte[] time(Instant t) {
        var utc = t.atZone(ZoneOffset.UTC);
        return utc.getYear() < 2050
                ? tlv(0x17, DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'").format(utc).getBytes(StandardCharsets.US_ASCII))
                : tlv(0x18, DateTimeFormatter.ofPattern("yyyyMMddHHmmss'Z'").format(utc).getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] extension(byte[] oid, boolean critical, byte[] value) {
        return critical ? seq(oid, TRUE, tlv(0x04, value)) : seq(oid, tlv(0x04, value));
    }

    private static byte[] bitString(int bits, int unusedBits) {
        return tlv(0x03, new byte[] {(byte) unusedBits, (byte) bits});
    }

    private static byte[] bitString(byte[] bytes) {
        byte[] content = new byte[bytes.length + 1];
        System.arraycopy(bytes, 0, content, 1, bytes.length);
        return tlv(0x03, content);
    }

    private static byte[] oid(int... arcs) {
        var out = new ByteArrayOutputStream();
        out.write(arcs[0] * 40 + arcs[1]);
        for (int i = 2; i < arcs.length; i++) {
            int arc = arcs[i];
            int groups = Math.max(1, (32 - Integer.numberOfLeadingZeros(arc) + 6) / 7);
            for (int g = groups - 1; g >= 0; g--) out.write(((arc >>> (7 * g)) & 0x7F) | (g > 0 ? 0x80 : 0));
        }
        return tlv(0x06, out.toByteArray());
    }

    private static byte[] seq(byte[]... parts) {
        return tlv(0x30, parts);
    }

    private static byte[] tlv(int tag, byte[]... parts) {
        var content = new ByteArrayOutputStream();
        for (byte[] p : parts) content.writeBytes(p);
        int n = content.size();
        var out = new ByteArrayOutputStream(n + 6);
        out.write(tag);
        if (n < 0x80) {
            out.write(n);
        } else {
            int bytes = (32 - Integer.numberOfLeadingZeros(n) + 7) / 8;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) out.write(n >>> (8 * i));
        }
        out.writeBytes(content.toByteArray());
        return out.toByteArray();
    }
}
