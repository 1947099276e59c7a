package io.expertmesh.experts;

import com.typesafe.config.Config;

/**
 * The expert host's dispatch link (HOCON {@code expertmesh.experts}): the port it listens on (0: any
 * free one) and the longest frame a link carries, which attention nodes use for their ends too.
 */
public record ExpertHostSettings(int linkPort, long maxFrameSize) {
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
    }

    /** Reads {@code expertmesh.experts}. */
    public static ExpertHostSettings from(Config config) {
        return new ExpertHostSettings(config.getInt("expertmesh.experts.link-port"), config.getBytes("expertmesh.experts.max-frame-size"));
    }
}
