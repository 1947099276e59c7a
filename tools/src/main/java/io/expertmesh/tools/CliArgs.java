package io.expertmesh.tools;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.engine.ModelSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Options of one subcommand: {@code --name value} pairs and bare {@code --flag}s, each allowed only
 * if the command's {@link CommandSpec} declares it, with typed getters whose errors name the option.
 */
public final class CliArgs {
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");
    private final CommandSpec spec;
    private final Map<String, List<String>> values = new LinkedHashMap<>();
    private final Set<String> flags = new HashSet<>();

    private CliArgs(CommandSpec spec) {
        this.spec = spec;
    }

    /** @throws HelpRequest when the arguments ask for the command's help ({@code --help} or {@code -h}) */
    public static CliArgs parse(CommandSpec spec, String[] args) {
        var parsed = new CliArgs(spec);
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h")) throw new HelpRequest(spec.help());
            if (!a.startsWith("--")) throw new UsageException("unexpected argument '" + a + "'" + seeHelp(spec));
            String name = a.substring(2);
            String inline = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                inline = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            Option option = spec.option(name);
            if (option == null) throw new UsageException("unknown option --" + name + " for '" + spec.name() + "'" + seeHelp(spec));
            if (option == CommandSpec.HELP) throw new HelpRequest(spec.help());
            if (!option.takesValue()) {
                if (inline != null) throw new UsageException("--" + name + " takes no value");
                parsed.flags.add(name);
            } else {
                String v = inline;
                if (v == null) {
                    if (i + 1 >= args.length) throw new UsageException("--" + name + " needs a value");
                    v = args[++i];
                }
                parsed.values.computeIfAbsent(name, k -> new ArrayList<>()).add(v);
            }
        }
        return parsed;
    }

    private static String seeHelp(CommandSpec spec) {
        return " (mesh " + spec.name() + " --help lists the options)";
    }

    /** Reading an option the command does not declare is a bug, caught here so that the help cannot miss an option. */
    private void declared(String name, boolean valued) {
        Option o = spec.option(name);
        if (o == null || o.takesValue() != valued) {
            throw new IllegalStateException("'" + spec.name() + "' reads --" + name + ", which it does not declare as "
                    + (valued ? "taking a value" : "a flag"));
        }
    }

    public boolean flag(String name) {
        declared(name, false);
        return flags.contains(name);
    }

    public boolean has(String name) {
        declared(name, true);
        return values.containsKey(name);
    }

    public String string(String name, String dflt) {
        declared(name, true);
        List<String> v = values.get(name);
        if (v == null) return dflt;
        if (v.size() > 1) throw new UsageException("--" + name + " given more than once");
        return v.get(0);
    }

    public String required(String name) {
        String v = string(name, null);
        if (v == null) throw new UsageException("--" + name + " is required");
        return v;
    }

    public List<String> all(String name) {
        declared(name, true);
        return values.getOrDefault(name, List.of());
    }

    public int integer(String name, int dflt, int min, int max) {
        String v = string(name, null);
        if (v == null) return dflt;
        try {
            int n = Integer.parseInt(v.trim());
            if (n < min || n > max) throw new UsageException("--" + name + " must be between " + min + " and " + max + ", got " + n);
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got '" + v + "'");
        }
    }

    public long longValue(String name) {
        String v = string(name, null);
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got '" + v + "'");
        }
    }

    public float number(String name, float dflt) {
        String v = string(name, null);
        if (v == null) return dflt;
        try {
            float f = Float.parseFloat(v.trim());
            if (!Float.isFinite(f)) throw new NumberFormatException();
            return f;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number, got '" + v + "'");
        }
    }

    /** A duration written {@code 500ms}, {@code 30s}, {@code 2m} or {@code 1h}, within [min, max]. */
    public Duration duration(String name, Duration dflt, Duration min, Duration max) {
        String v = string(name, null);
        if (v == null) return dflt;
        Matcher m = DURATION.matcher(v.trim());
        if (!m.matches()) throw new UsageException("--" + name + " must be a duration such as 500ms, 30s, 2m or 1h, got '" + v + "'");
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw new UsageException("--" + name + " must be between " + shown(min) + " and " + shown(max) + ", got " + v.trim());
        }
        return d;
    }

    private static String shown(Duration d) {
        return d.toMillis() % 1000 != 0 ? d.toMillis() + "ms" : Progress.duration(d.toSeconds());
    }

    /** Comma-separated non-negative integers, e.g. {@code 1,2,3}. */
    public int[] intList(String name) {
        String v = required(name);
        String[] parts = v.split(",", -1);
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].trim());
                if (out[i] < 0) throw new NumberFormatException();
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + " must be comma-separated non-negative integers, got '" + parts[i] + "'");
            }
        }
        return out;
    }

    /** A model that must exist: a directory, or a file named *.gguf ({@link ModelSource}). */
    public Path model(String name, Path dflt) {
        String v = string(name, null);
        Path p = v != null ? Path.of(v) : dflt;
        if (p == null) throw new UsageException("--" + name + " is required");
        try {
            ModelSource.of(p);
        } catch (ModelFormatException e) {
            throw new UsageException("--" + name + ": " + e.getMessage());
        }
        return p;
    }

    /** A directory that must exist. */
    public Path directory(String name, Path dflt) {
        String v = string(name, null);
        Path p = v != null ? Path.of(v) : dflt;
        if (p == null) throw new UsageException("--" + name + " is required");
        if (!Files.isDirectory(p)) throw new UsageException("--" + name + ": " + p + " is not a directory");
        return p;
    }
}
