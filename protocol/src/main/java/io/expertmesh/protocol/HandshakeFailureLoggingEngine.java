package io.expertmesh.protocol;

import java.nio.ByteBuffer;
import java.security.cert.CertificateException;
import java.util.List;
import java.util.function.BiFunction;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

/**
 * The server side of an Artery TLS connection, which says when a peer fails its handshake. A node
 * with another CA's keys refuses our certificate and hangs up, and one without keys sends bytes that
 * are not TLS; neither reaches our trust manager, so without this the refused node would be the only
 * one to log anything. Failures are logged through a {@link PeerFailureLog}, at most once a minute
 * per reason. Everything else is the wrapped engine's.
 */
final class HandshakeFailureLoggingEngine extends SSLEngine {
    private final SSLEngine engine;
    private final PeerFailureLog failures;
    /** Set once the handshake has finished: later failures (a member going away) are not refusals. */
    private volatile boolean established;

    HandshakeFailureLoggingEngine(SSLEngine engine, PeerFailureLog failures) {
        super(engine.getPeerHost(), engine.getPeerPort());
        this.engine = engine;
        this.failures = failures;
    }

    @Override
    public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
        try {
            return noted(engine.unwrap(src, dsts, offset, length));
        } catch (SSLException e) {
            throw logged(e);
        }
    }

    @Override
    public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst) throws SSLException {
        try {
            return noted(engine.wrap(srcs, offset, length, dst));
        } catch (SSLException e) {
            throw logged(e);
        }
    }

    private SSLEngineResult noted(SSLEngineResult result) {
        if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) established = true;
        return result;
    }

    private SSLException logged(SSLException e) {
        if (established) return e;
        // A refused certificate was already logged, with its subject, by the trust manager.
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertificateException) return e;
        }
        // Artery gives the engine its own bind address, not the peer's, so the line cannot name the peer.
        failures.failed(String.valueOf(e.getMessage()), "cluster port refused a TLS handshake: " + e.getMessage()
                + " (a node without this cluster's keys, or not a cluster node)");
        return e;
    }

    @Override
    public Runnable getDelegatedTask() {
        return engine.getDelegatedTask();
    }

    @Override
    public void closeInbound() throws SSLException {
        engine.closeInbound();
    }

    @Override
    public boolean isInboundDone() {
        return engine.isInboundDone();
    }

    @Override
    public void closeOutbound() {
        engine.closeOutbound();
    }

    @Override
    public boolean isOutboundDone() {
        return engine.isOutboundDone();
    }

    @Override
    public String[] getSupportedCipherSuites() {
        return engine.getSupportedCipherSuites();
    }

    @Override
    public String[] getEnabledCipherSuites() {
        return engine.getEnabledCipherSuites();
    }

    @Override
    public void setEnabledCipherSuites(String[] suites) {
        engine.setEnabledCipherSuites(suites);
    }

    @Override
    public String[] getSupportedProtocols() {
        return engine.getSupportedProtocols();
    }

    @Override
    public String[] getEnabledProtocols() {
        return engine.getEnabledProtocols();
    }

    @Override
    public void setEnabledProtocols(String[] protocols) {
        engine.setEnabledProtocols(protocols);
    }

    @Override
    public SSLSession getSession() {
        return engine.getSession();
    }

    @Override
    public SSLSession getHandshakeSession() {
        return engine.getHandshakeSession();
    }

    @Override
    public void beginHandshake() throws SSLException {
        try {
            engine.beginHandshake();
        } catch (SSLException e) {
            throw logged(e);
        }
    }

    @Override
    public SSLEngineResult.HandshakeStatus getHandshakeStatus() {
        return engine.getHandshakeStatus();
    }

    @Override
    public void setUseClientMode(boolean mode) {
        engine.setUseClientMode(mode);
    }

    @Override
    public boolean getUseClientMode() {
        return engine.getUseClientMode();
    }

    @Override
    public void setNeedClientAuth(boolean need) {
        engine.setNeedClientAuth(need);
    }

    @Override
    public boolean getNeedClientAuth() {
        return engine.getNeedClientAuth();
    }

    @Override
    public void setWantClientAuth(boolean want) {
        engine.setWantClientAuth(want);
    }

    @Override
    public boolean getWantClientAuth() {
        return engine.getWantClientAuth();
    }

    @Override
    public void setEnableSessionCreation(boolean flag) {
        engine.setEnableSessionCreation(flag);
    }

    @Override
    public boolean getEnableSessionCreation() {
        return engine.getEnableSessionCreation();
    }

    @Override
    public SSLParameters getSSLParameters() {
        return engine.getSSLParameters();
    }

    @Override
    public void setSSLParameters(SSLParameters params) {
        engine.setSSLParameters(params);
    }

    @Override
    public String getApplicationProtocol() {
        return engine.getApplicationProtocol();
    }

    @Override
    public String getHandshakeApplicationProtocol() {
        return engine.getHandshakeApplicationProtocol();
    }

    @Override
    public void setHandshakeApplicationProtocolSelector(BiFunction<SSLEngine, List<String>, String> selector) {
        engine.setHandshakeApplicationProtocolSelector(selector);
    }

    @Override
    public BiFunction<SSLEngine, List<String>, String> getHandshakeApplicationProtocolSelector() {
        return engine.getHandshakeApplicationProtocolSelector();
    }
}
