package io.expertmesh.model.guided;

/** A guide that cannot be compiled: bad syntax, an unsupported keyword, or over a size limit. The message says which. */
public final class GuideException extends IllegalArgumentException {
    public GuideException(String message) {
        super(message);
    }
}
