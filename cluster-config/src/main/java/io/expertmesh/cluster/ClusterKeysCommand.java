package io.expertmesh.cluster;

import io.expertmesh.protocol.ClusterCertificates;
import io.expertmesh.tools.CliArgs;
import io.expertmesh.tools.CommandSpec;
import io.expertmesh.tools.Option;
import io.expertmesh.tools.UsageException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.stream.Stream;

/**
 * {@code mesh cluster-keys --out DIR --nodes NAME,...} (options: {@link #SPEC}): the CA of a secured
 * cluster in {@code DIR/ca} (made once, reused by later calls that add nodes) and one directory of
 * keys per node, {@code DIR/NAME}, which {@code mesh node --cluster-keys DIR/NAME} starts with.
 */
final class ClusterKeysCommand {
    private static final int DAYS = 825;

    static final CommandSpec SPEC = CommandSpec.of("cluster-keys",
            "Creates a cluster CA (once) and mutual-TLS keys per node, for `mesh node --cluster-keys DIR/NAME`.",
            Option.required("out", "DIR", "where the keys go: DIR/ca (keep it private; it signs new nodes) and DIR/NAME per node"),
            Option.required("nodes", "NAME,...", "the nodes to make keys for (letters, digits, '.', '_', '-'); existing ones are refused"),
            Option.valued("days", "N", DAYS, "how long the certificates are valid (the CA's: ten times as long)"));

    private ClusterKeysCommand() {}

    static void run(String[] argv, PrintStream out) {
        CliArgs a = CliArgs.parse(SPEC, argv);
        Path dir = Path.of(a.required("out"));
        var names = new LinkedHashSet<>(Arrays.stream(a.required("nodes").split(",")).map(String::trim).filter(n -> !n.isEmpty()).toList());
        if (names.isEmpty()) throw new UsageException("--nodes: name at least one node");
        for (String n : names) {
            try {
                ClusterCertificates.checkNodeName(n);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--nodes: " + e.getMessage());
            }
            if (Files.exists(dir.resolve(n))) throw new UsageException("--nodes: " + dir.resolve(n) + " already exists; remove it to make new keys");
        }
        Duration validity = Duration.ofDays(a.integer("days", DAYS, 1, 3650));
        boolean existing = Files.exists(dir.resolve(ClusterCertificates.CA_DIRECTORY).resolve(ClusterCertificates.CA_KEY_STORE));
        var ca = ClusterCertificates.authority(dir, validity.multipliedBy(10));
        out.println((existing ? "using the CA in " : "created a CA in ") + dir.resolve(ClusterCertificates.CA_DIRECTORY)
                + " (keep it private: whoever holds it can add nodes)");
        int i = 0;
        for (String n : names) {
            Path node = ClusterCertificates.node(dir, ca, n, validity);
            out.printf("node %d of %d: %s (start it with `mesh node --cluster-keys %s ...`)%n", ++i, names.size(), node, node);
        }
    }

    /**
     * Keys for a one-node cluster, made in a private temporary directory that is deleted when the JVM
     * exits: {@code mesh serve} runs Artery and its dispatch link over TLS like any node, so bytes
     * from other local processes never reach their frame decoders.
     */
    static Path throwaway() {
        try {
            Path dir = Files.createTempDirectory("expertmesh-keys-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
            return ClusterCertificates.node(dir, ClusterCertificates.authority(dir, Duration.ofDays(DAYS)), "serve", Duration.ofDays(DAYS));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a directory for the node's throwaway cluster keys: " + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            System.err.println("could not delete the throwaway cluster keys in " + dir + ": " + e.getMessage());
        }
    }
}
