package io.expertmesh.tools;

/**
 * {@code --help} or {@code -h} on a command line: the command does not run; the launcher prints
 * {@link #getMessage()} (the command's help) to stdout and exits 0.
 */
public final class HelpRequest extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public HelpRequest(String help) {
        super(help, null, false, false);
    }
}
