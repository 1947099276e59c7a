package io.expertmesh.tools;

import java.math.BigDecimal;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * One option of a command, declared once: the parser accepts exactly the declared names (valued or
 * flag) and the command's {@code --help} lists them from the same declaration.
 *
 * @param name  the option without its leading {@code --}
 * @param value the value's placeholder in the help ({@code N}, {@code DIR}); null for a flag
 * @param dflt  what the command uses when the option is absent, as the help shows it; computed on
 *              demand because some defaults come from the configuration or the machine. Null for a
 *              required option; unused for a flag (absent means off)
 * @param help  one line on what the option does
 */
public record Option(String name, String value, Supplier<String> dflt, String help) {
    public Option {
        Objects.requireNonNull(name);
        Objects.requireNonNull(help);
        if (name.startsWith("-")) throw new IllegalArgumentException("option names go without dashes: " + name);
    }

    /** {@code --name VALUE}; a number as default is shown without trailing zeros (0, not 0.0). */
    public static Option valued(String name, String value, Object dflt, String help) {
        String shown = dflt instanceof Float || dflt instanceof Double
                ? new BigDecimal(dflt.toString()).stripTrailingZeros().toPlainString() : String.valueOf(dflt);
        return new Option(name, Objects.requireNonNull(value), () -> shown, help);
    }

    /** {@code --name VALUE} whose default is known only when the help is shown. */
    public static Option computed(String name, String value, Supplier<String> dflt, String help) {
        return new Option(name, Objects.requireNonNull(value), Objects.requireNonNull(dflt), help);
    }

    /** {@code --name VALUE} that the command cannot do without. */
    public static Option required(String name, String value, String help) {
        return new Option(name, Objects.requireNonNull(value), null, help);
    }

    /** A bare {@code --name}: on when given, off otherwise. */
    public static Option flag(String name, String help) {
        return new Option(name, null, null, help);
    }

    /** The same option with a description that fits another command. */
    public Option withHelp(String otherHelp) {
        return new Option(name, value, dflt, otherHelp);
    }

    /** The same option with a default that another command computes its own way. */
    public Option withDefault(Supplier<String> otherDefault) {
        if (!takesValue()) throw new IllegalStateException("--" + name + " is a flag");
        return new Option(name, value, Objects.requireNonNull(otherDefault), help);
    }

    public boolean takesValue() {
        return value != null;
    }

    public boolean isRequired() {
        return takesValue() && dflt == null;
    }

    /** The default as the help shows it; null for a flag or a required option. */
    public String defaultText() {
        return takesValue() && dflt != null ? dflt.get() : null;
    }

    /** {@code --name VALUE} or {@code --name}. */
    String synopsis() {
        return "--" + name + (takesValue() ? " " + value : "");
    }
}
