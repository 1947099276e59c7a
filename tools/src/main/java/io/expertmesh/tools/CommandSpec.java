package io.expertmesh.tools;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A subcommand's name, what it does in one line, and its options: what {@link CliArgs#parse} accepts
 * and what {@code mesh NAME --help} prints. Every command also takes {@link #HELP} and {@link #DEBUG},
 * appended here so that no declaration can forget them.
 */
public record CommandSpec(String name, String summary, List<Option> options) {
    public static final Option HELP = Option.flag("help", "print this help and exit");
    public static final Option DEBUG = Option.flag("debug", "on a failure, print the stack trace too");

    public CommandSpec {
        Objects.requireNonNull(name);
        Objects.requireNonNull(summary);
        List<Option> all = new ArrayList<>(options);
        for (Option common : List.of(DEBUG, HELP)) {
            if (!all.contains(common)) all.add(common);
        }
        Set<String> names = new HashSet<>();
        for (Option o : all) {
            if (!names.add(o.name())) throw new IllegalArgumentException(name + ": option --" + o.name() + " is declared twice");
        }
        options = List.copyOf(all);
    }

    public static CommandSpec of(String name, String summary, Option... options) {
        return new CommandSpec(name, summary, List.of(options));
    }

    /** The declared option called {@code name}, or null. */
    public Option option(String optionName) {
        for (Option o : options) {
            if (o.name().equals(optionName)) return o;
        }
        return null;
    }

    /** What {@code mesh NAME --help} prints: usage, summary, and every option with its default. */
    public String help() {
        List<String> left = new ArrayList<>();
        for (Option o : options) left.add(o == HELP ? "-h, --help" : o.synopsis());
        int width = left.stream().mapToInt(String::length).max().orElse(0) + 2;
        StringBuilder sb = new StringBuilder();
        sb.append("usage: mesh ").append(name).append(" [options]\n");
        sb.append(summary).append("\n\n");
        sb.append("options (flags are off unless given):\n");
        for (int i = 0; i < options.size(); i++) {
            Option o = options.get(i);
            sb.append("  ").append(left.get(i)).append(" ".repeat(width - left.get(i).length())).append(o.help());
            if (o.isRequired()) {
                sb.append(" (required)");
            } else if (o.takesValue()) {
                sb.append(" (default: ").append(o.defaultText()).append(')');
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
