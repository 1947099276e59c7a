package io.expertmesh.tools;

/** A command line that cannot be run as given; the message says which option is wrong and why. */
public final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }
}
