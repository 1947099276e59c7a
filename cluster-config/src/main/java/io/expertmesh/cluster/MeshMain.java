package io.expertmesh.cluster;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.cli.Bench;
import io.expertmesh.model.cli.GpuCheck;
import io.expertmesh.model.cli.ModelCommands;
import io.expertmesh.model.cli.Synth;
import io.expertmesh.model.cli.UsageException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
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

    static int run(String[] args, PrintStream out, PrintStream err) {
        Path defaultModel = defaultModel();
        var model = new ModelCommands(defaultModel, out, err);
        Map<String, Consumer<String[]>> commands = new LinkedHashMap<>();
        commands.put("serve", argv -> ServeCommand.run(argv, defaultModel));
        commands.put("node", argv -> NodeCommand.run(argv, defaultModel));
        commands.put("generate", model::generate);
        commands.put("tokenize", model::tokenize);
        commands.put("logits", model::logits);
        commands.put("synth", argv -> Synth.run(argv, out, err));
        commands.put("bench", argv -> Bench.run(argv, defaultModel, out, err));
        commands.put("bench-serve", argv -> ServeBench.run(argv, defaultModel, out, err));
        commands.put("gpu-check", argv -> GpuCheck.run(argv, defaultModel, out, err));
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("help")) {
            err.println("usage: mesh <command> [options]   commands: " + String.join(", ", commands.keySet()));
            return args.length == 0 ? EXIT_USAGE : 0;
        }
        String name = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        boolean debug = Arrays.asList(rest).contains("--debug");
        Consumer<String[]> command = commands.get(name);
        if (command == null) {
            err.println("mesh: unknown command '" + name + "' (commands: " + String.join(", ", commands.keySet()) + ")");
            return EXIT_USAGE;
        }
        try {
            command.accept(rest);
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
        return home == null ? null : Path.of(home, "models", "tiny-ernie-4.5-moe");
    }
}
