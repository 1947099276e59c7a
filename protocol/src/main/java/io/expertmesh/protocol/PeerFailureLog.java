package io.expertmesh.protocol;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;

/**
 * Warnings about peers that fail (refused handshakes, dropped connections), at most one line per
 * peer address per minute, saying how many were not logged: a peer that retries every few
 * milliseconds costs a log line a minute, not a flood.
 */
public final class PeerFailureLog {
    private static final long INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);
    /** Peers being counted; beyond it every count is forgotten (those peers are logged again sooner, memory stays bounded). */
    private static final int MAX_PEERS = 1024;

    private final Logger log;
    private final Map<String, Counter> peers = new ConcurrentHashMap<>();

    private static final class Counter {
        long loggedAt;
        int unlogged;
    }

    public PeerFailureLog(Logger log) {
        this.log = log;
    }

    /** Logs {@code what} for the peer at {@code address} unless that address was logged within the last minute. */
    public void failed(String address, String what) {
        long now = System.nanoTime();
        if (peers.size() >= MAX_PEERS && !peers.containsKey(address)) peers.clear();
        Counter c = peers.computeIfAbsent(address, a -> {
            var fresh = new Counter();
            fresh.loggedAt = now - INTERVAL_NANOS;
            return fresh;
        });
        int unlogged;
        synchronized (c) {
            if (now - c.loggedAt < INTERVAL_NANOS) {
                c.unlogged++;
                return;
            }
            unlogged = c.unlogged;
            c.unlogged = 0;
            c.loggedAt = now;
        }
        log.warn("{}{}", what, unlogged > 0 ? " (and " + unlogged + " more failures from " + address + " in the last minute, not logged)" : "");
    }
}
