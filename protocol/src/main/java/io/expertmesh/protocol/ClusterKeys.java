package io.expertmesh.protocol;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.Map;
import java.util.function.UnaryOperator;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A node's identity in a secured cluster, as {@code mesh cluster-keys} writes it, one directory per
 * node: {@code node.p12} holds the node's key and its certificate signed by the cluster's CA,
 * {@code trust.p12} the CA certificate, {@code password} the password of both. Artery and the
 * dispatch links both run mutual TLS with it, so a peer without a certificate from the same CA is
 * refused at the handshake, before any of its bytes reach a frame decoder.
 */
public record ClusterKeys(Path directory, Path keyStore, Path trustStore, String password, String nodeName) {
    public static final String KEY_STORE = "node.p12";
    public static final String TRUST_STORE = "trust.p12";
    public static final String PASSWORD = "password";
    public static final String PROTOCOL = "TLSv1.3";

    /** Reads and checks a node's key directory; every problem names the file. */
    public static ClusterKeys load(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new IllegalArgumentException("cluster keys: " + directory + " is not a directory (create one with `mesh cluster-keys --out DIR --nodes NAME,...`)");
        }
        Path passwordFile = directory.resolve(PASSWORD);
        String password;
        try {
            password = Files.readString(passwordFile, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new IllegalArgumentException("cluster keys: cannot read " + passwordFile + ": " + e.getMessage(), e);
        }
        Path keyStorePath = directory.resolve(KEY_STORE);
        Path trustStorePath = directory.resolve(TRUST_STORE);
        KeyStore keys = open(keyStorePath, password);
        KeyStore trust = open(trustStorePath, password);
        try {
            var keyAliases = Collections.list(keys.aliases()).stream().filter(a -> isKey(keys, a)).toList();
            if (keyAliases.size() != 1) {
                throw new IllegalArgumentException("cluster keys: " + keyStorePath + " must hold exactly one private key, holds " + keyAliases.size());
            }
            if (!(keys.getCertificate(keyAliases.getFirst()) instanceof X509Certificate cert)) {
                throw new IllegalArgumentException("cluster keys: the key in " + keyStorePath + " has no X.509 certificate");
            }
            if (Collections.list(trust.aliases()).stream().noneMatch(a -> isCertificate(trust, a))) {
                throw new IllegalArgumentException("cluster keys: " + trustStorePath + " holds no CA certificate");
            }
            String subject = cert.getSubjectX500Principal().getName();
            String name = subject.startsWith("CN=") ? subject.substring(3).split(",", 2)[0] : subject;
            return new ClusterKeys(directory, keyStorePath, trustStorePath, password, name);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cluster keys: cannot read " + keyStorePath + ": " + e.getMessage(), e);
        }
    }

    private static boolean isKey(KeyStore store, String alias) {
        try {
            return store.isKeyEntry(alias);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static boolean isCertificate(KeyStore store, String alias) {
        try {
            return store.isCertificateEntry(alias);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static KeyStore open(Path path, String password) {
        try (InputStream in = Files.newInputStream(path)) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, password.toCharArray());
            return store;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cluster keys: cannot open " + path + " as a PKCS12 key store with the password in "
                    + PASSWORD + ": " + e.getMessage(), e);
        }
    }

    /** A TLS 1.3 context that presents this node's certificate and trusts only the cluster's CA. */
    public SSLContext sslContext() {
        return sslContext(UnaryOperator.identity());
    }

    /** As {@link #sslContext()}, with the JDK's trust manager wrapped by {@code trust} (to log refusals). */
    SSLContext sslContext(UnaryOperator<X509ExtendedTrustManager> trust) {
        try {
            KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keyManagers.init(open(keyStore, password), password.toCharArray());
            TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trustManagers.init(open(trustStore, password));
            SSLContext context = SSLContext.getInstance(PROTOCOL);
            TrustManager[] managers = trustManagers.getTrustManagers();
            for (int i = 0; i < managers.length; i++) {
                if (managers[i] instanceof X509ExtendedTrustManager x509) managers[i] = trust.apply(x509);
            }
            context.init(keyManagers.getKeyManagers(), managers, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cluster keys in " + directory + ": " + e.getMessage(), e);
        }
    }

    /** Artery over TLS 1.3 with these keys ({@link ClusterTlsEngines}): both ends must present a certificate from the cluster's CA. */
    public Config arteryConfig() {
        return ConfigFactory.parseMap(Map.of(
                "pekko.remote.artery.transport", "tls-tcp",
                "pekko.remote.artery.ssl.ssl-engine-provider", ClusterTlsEngines.class.getName(),
                ClusterTlsEngines.KEYS_PATH, directory.toAbsolutePath().toString()));
    }

    @Override
    public String toString() {
        return "ClusterKeys[" + directory + ", node " + nodeName + "]";
    }
}
