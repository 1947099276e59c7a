package io.expertmesh.model.cli;

/** A command line that cannot be run as given; the message says which option is wrong and why. */
public final class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }
}
