package io.expertmesh.cluster;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.tools.Bench;
import io.expertmesh.tools.CommandSpec;
import io.expertmesh.tools.GpuCheck;
import io.expertmesh.tools.HelpRequest;
import io.expertmesh.tools.ModelCommands;
import io.expertmesh.tools.QuantizeCommand;
import io.expertmesh.tools.ServeBench;
import io.expertmesh.tools.Soak;
import io.expertmesh.tools.Synth;
import io.expertmesh.tools.UsageException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Entry point of the {@code mesh} command: dispatches a subcommand, and turns every failure into
 * one line on stderr and a non-zero exit code (the stack trace only with {@code --debug}).
 */
public final class MeshMain {
    private static final int EXIT_FAILURE = 1;
    private static final int EXIT_USAGE = 2;

    private MeshMain() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** A subcommand: its declaration (name, summary, options) and what runs it. */
    record Command(CommandSpec spec, Consumer<String[]> run) {}

    /**
     * The commands the launcher script runs itself, before Java: listed here so that {@code mesh --help}
     * is one text. Their options are in {@code ./mesh CMD --help}, which the script answers.
     */
    static final Map<String, String> SCRIPT_COMMANDS = scriptCommands();

    private static Map<String, String> scriptCommands() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("test", "Runs the test suite with Maven (mvn test); extra arguments go to Maven. Source checkout only.");
        m.put("loadtest", "Runs the Gatling streaming load test against a server it starts (or --url). Source checkout only.");
        m.put("dist", "Writes a distribution that runs without Maven or the sources. Source checkout only.");
        return m;
    }

    static List<Command> commands(Path defaultModel, PrintStream out, PrintStream err) {
        var model = new ModelCommands(defaultModel, out, err);
        return List.of(
                new Command(ServeCommand.SPEC, argv -> ServeCommand.run(argv, defaultModel)),
                new Command(NodeCommand.SPEC, argv -> NodeCommand.run(argv, defaultModel)),
                new Command(ClusterKeysCommand.SPEC, argv -> ClusterKeysCommand.run(argv, out)),
                new Command(ModelCommands.GENERATE, model::generate),
                new Command(ModelCommands.TOKENIZE, model::tokenize),
                new Command(ModelCommands.LOGITS, model::logits),
                new Command(Synth.SPEC, argv -> Synth.run(argv, out, err)),
                new Command(QuantizeCommand.SPEC, argv -> QuantizeCommand.run(argv, defaultModel, out, err)),
                new Command(Bench.SPEC, argv -> Bench.run(argv, defaultModel, out, err)),
                new Command(ServeBench.SPEC, argv -> ServeBench.run(argv, defaultModel, ServeCommand::startForBenchmark, out, err)),
                new Command(Soak.SPEC, argv -> Soak.run(argv, defaultModel, MeshMain.class.getName(), out)),
                new Command(GpuCheck.SPEC, argv -> GpuCheck.run(argv, defaultModel, out, err)));
    }

    /** What {@code mesh --help} prints: every command, the launcher script's included, with a line on what it does. */
    static String help(List<Command> commands) {
        Map<String, String> all = new LinkedHashMap<>();
        for (Command c : commands) all.put(c.spec().name(), c.spec().summary());
        all.putAll(SCRIPT_COMMANDS);
        int width = all.keySet().stream().mapToInt(String::length).max().orElse(0) + 2;
        StringBuilder sb = new StringBuilder("usage: mesh <command> [options]   (mesh <command> --help lists its options and their defaults)\n");
        sb.append("commands:\n");
        all.forEach((name, summary) -> sb.append("  ").append(name).append(" ".repeat(width - name.length())).append(summary).append('\n'));
        return sb.toString();
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        Path defaultModel = defaultModel();
        List<Command> commands = commands(defaultModel, out, err);
        if (args.length == 0) {
            err.print(help(commands));
            return EXIT_USAGE;
        }
        if (List.of("--help", "-h", "help").contains(args[0])) {
            out.print(help(commands));
            return 0;
        }
        String name = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        boolean debug = Arrays.asList(rest).contains("--debug");
        Command command = commands.stream().filter(c -> c.spec().name().equals(name)).findFirst().orElse(null);
        if (command == null) {
            List<String> names = new ArrayList<>(commands.stream().map(c -> c.spec().name()).toList());
            names.addAll(SCRIPT_COMMANDS.keySet());
            err.println("mesh: unknown command '" + name + "' (commands: " + String.join(", ", names) + "; mesh --help says what each does)");
            return EXIT_USAGE;
        }
        try {
            command.run().accept(rest);
            out.flush();
            return out.checkError() ? EXIT_FAILURE : 0;
        } catch (HelpRequest e) {
            out.print(e.getMessage());
            out.flush();
            return out.checkError() ? EXIT_FAILURE : 0;
        } catch (UsageException e) {
            err.println("mesh " + name + ": " + e.getMessage());
            return EXIT_USAGE;
        } catch (ModelFormatException | IllegalArgumentException | IllegalStateException e) {
            if (debug) e.printStackTrace(err);
            err.println("mesh " + name + ": " + e.getMessage());
            return EXIT_FAILURE;
        } catch (RuntimeException | OutOfMemoryError e) {
            if (debug) e.printStackTrace(err);
            err.println("mesh " + name + ": unexpected " + e.getClass().getSimpleName() + ": " + e.getMessage()
                    + (debug ? "" : " (run with --debug for the stack trace)"));
            return EXIT_FAILURE;
        }
    }

    /** The bundled tiny model, found from the install directory the launcher passes in. */
    private static Path defaultModel() {
        String home = System.getProperty("expertmesh.home");
        return home == null ? null : Path.of(home).resolve(ModelCommands.BUNDLED_MODEL);
    }
}
