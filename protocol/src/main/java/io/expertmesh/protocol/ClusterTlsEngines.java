package io.expertmesh.protocol;

import java.net.Socket;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedTrustManager;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * Artery's TLS engines, from the same {@link ClusterKeys} as the dispatch links: TLS 1.3, and each
 * side must present a certificate from the cluster's CA. A peer refused for its certificate is
 * logged once a minute per certificate subject; one that refuses ours, or speaks no TLS at all, once
 * a minute per reason ({@link HandshakeFailureLoggingEngine}); none gets a line per packet. Artery creates it by reflection from
 * {@code pekko.remote.artery.ssl.ssl-engine-provider}, which {@link ClusterKeys#arteryConfig} sets.
 */
public final class ClusterTlsEngines implements SSLEngineProvider {
    static final String KEYS_PATH = "pekko.remote.artery.ssl.expertmesh-cluster-keys";

    private final SSLContext context;
    private final PeerFailureLog refusals;

    public ClusterTlsEngines(ActorSystem system) {
        ClusterKeys keys = ClusterKeys.load(Path.of(system.settings().config().getString(KEYS_PATH)));
        this.refusals = new PeerFailureLog(LoggerFactory.getLogger(ClusterTlsEngines.class));
        this.context = keys.sslContext(delegate -> new RefusalLoggingTrustManager(delegate, refusals));
    }

    @Override
    public SSLEngine createServerSSLEngine(String hostname, int port) {
        SSLEngine engine = engine(hostname, port);
        engine.setUseClientMode(false);
        engine.setNeedClientAuth(true);
        return new HandshakeFailureLoggingEngine(engine, refusals);
    }

    @Override
    public SSLEngine createClientSSLEngine(String hostname, int port) {
        SSLEngine engine = engine(hostname, port);
        engine.setUseClientMode(true);
        return engine;
    }

    private SSLEngine engine(String hostname, int port) {
        SSLEngine engine = context.createSSLEngine(hostname, port);
        engine.setEnabledProtocols(new String[] {ClusterKeys.PROTOCOL});
        return engine;
    }

    /** The CA's signature is the whole check: nodes find each other by address, not by host name. */
    @Override
    public Option<Throwable> verifyClientSession(String hostname, SSLSession session) {
        return Option.empty();
    }

    @Override
    public Option<Throwable> verifyServerSession(String hostname, SSLSession session) {
        return Option.empty();
    }

    /** Checks as the JDK's trust manager does and logs the certificates it refuses. */
    private static final class RefusalLoggingTrustManager extends X509ExtendedTrustManager {
        private final X509ExtendedTrustManager delegate;
        private final PeerFailureLog refusals;

        RefusalLoggingTrustManager(X509ExtendedTrustManager delegate, PeerFailureLog refusals) {
            this.delegate = delegate;
            this.refusals = refusals;
        }

        private CertificateException refused(X509Certificate[] chain, String side, CertificateException e) {
            String subject = chain == null || chain.length == 0 ? "no certificate" : chain[0].getSubjectX500Principal().getName();
            refusals.failed(subject, "cluster port refused a " + side + " presenting " + subject
                    + " (not signed by this cluster's CA, or expired): " + e.getMessage());
            return e;
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            try {
                delegate.checkClientTrusted(chain, authType, engine);
            } catch (CertificateException e) {
                throw refused(chain, "connecting node", e);
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            try {
                delegate.checkServerTrusted(chain, authType, engine);
            } catch (CertificateException e) {
                throw refused(chain, "node it connected to", e);
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            delegate.checkClientTrusted(chain, authType, socket);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            delegate.checkServerTrusted(chain, authType, socket);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            delegate.checkClientTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            delegate.checkServerTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return delegate.getAcceptedIssuers();
        }
    }
}
