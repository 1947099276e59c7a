package io.expertmesh.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.expertmesh.gateway.GatewaySettings;
import io.expertmesh.model.ModelFormatException;
import io.expertmesh.tools.Bench;
import io.expertmesh.tools.GpuCheck;
import io.expertmesh.tools.LocalServer;
import io.expertmesh.tools.ModelCommands;
import io.expertmesh.tools.ServeBench;
import io.expertmesh.tools.Synth;
import io.expertmesh.tools.UsageException;
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
        commands.put("bench-serve", argv -> ServeBench.run(argv, defaultModel, MeshMain::startLocalServer, out, err));
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

    /** A one-node server for bench-serve, on a free port, with the scheduler limits the benchmark asks for. */
    private static LocalServer startLocalServer(Path model, int threads, int maxRunning, int maxWaiting) {
        Config config = ConfigFactory.parseMap(Map.of("expertmesh.scheduler.max-running", maxRunning,
                "expertmesh.scheduler.max-waiting", maxWaiting)).withFallback(ConfigFactory.load());
        if (threads > 0) config = ConfigFactory.parseMap(Map.of("expertmesh.engine.threads", threads)).withFallback(config);
        MeshNode node = MeshNode.start(model, config, GatewaySettings.from(config).withPort(0));
        return new LocalServer() {
            @Override
            public int httpPort() {
                return node.httpPort();
            }

            @Override
            public void close() {
                node.close();
            }
        };
    }

    /** The bundled tiny model, found from the install directory the launcher passes in. */
    private static Path defaultModel() {
        String home = System.getProperty("expertmesh.home");
        return home == null ? null : Path.of(home, "models", "tiny-ernie-4.5-moe");
    }
}
