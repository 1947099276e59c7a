package io.expertmesh.experts;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The expert host's dispatch link (HOCON {@code expertmesh.experts}): the port it listens on (0: any
 * free one), the longest frame a link carries, which attention nodes use for their ends too, how long
 * a connecting peer may take to authenticate and a started frame to arrive, and how many connections
 * may be authenticating at once.
 */
public record ExpertHostSettings(int linkPort, long maxFrameSize, Duration handshakeTimeout, Duration frameTimeout,
                                 int maxUnauthenticatedLinks) {
    /** What a frame's 4-byte length can count, less the header DispatchFrames adds. */
    static final long LARGEST_FRAME = Integer.MAX_VALUE - 8;

    public ExpertHostSettings {
        if (linkPort < 0 || linkPort > 65535) {
            throw new IllegalArgumentException("expertmesh.experts.link-port must be between 0 and 65535, got " + linkPort);
        }
        if (maxFrameSize < 1 || maxFrameSize > LARGEST_FRAME) {
            throw new IllegalArgumentException("expertmesh.experts.max-frame-size must be between 1 and " + LARGEST_FRAME + " bytes, got "
                    + maxFrameSize + " bytes");
        }
        milliseconds("expertmesh.experts.link-handshake-timeout", handshakeTimeout);
        milliseconds("expertmesh.experts.link-frame-timeout", frameTimeout);
        if (maxUnauthenticatedLinks < 1 || maxUnauthenticatedLinks > 4096) {
            throw new IllegalArgumentException("expertmesh.experts.max-unauthenticated-links must be between 1 and 4096, got "
                    + maxUnauthenticatedLinks);
        }
    }

    private static void milliseconds(String key, Duration value) {
        if (value.toMillis() < 1 || value.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(key + " must be between 1 ms and " + Integer.MAX_VALUE + " ms, got " + value.toMillis() + " ms");
        }
    }

    /** Reads {@code expertmesh.experts}. */
    public static ExpertHostSettings from(Config config) {
        return new ExpertHostSettings(config.getInt("expertmesh.experts.link-port"), config.getBytes("expertmesh.experts.max-frame-size"),
                config.getDuration("expertmesh.experts.link-handshake-timeout"), config.getDuration("expertmesh.experts.link-frame-timeout"),
                config.getInt("expertmesh.experts.max-unauthenticated-links"));
    }
}
