package io.expertmesh.model;

/**
 * A checkpoint, config or tokenizer file that cannot be used. The message names the file, tensor or
 * field at fault so that a command-line user can act on one line of text.
 */
public final class ModelFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ModelFormatException(String message) {
        super(message);
    }

    public ModelFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
