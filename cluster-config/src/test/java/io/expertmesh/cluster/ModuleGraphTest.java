package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Dependencies point one way along the data path: the parent pom lists the modules in that order
 * (docs/architecture.md states it), and no module depends on, or names a class of, a module listed
 * after it. Checked on the poms and on every Java source, main and test.
 */
class ModuleGraphTest {
    private static final Path ROOT = Path.of(System.getProperty("expertmesh.root", "..")).toAbsolutePath().normalize();
    private static final Pattern MODULE = Pattern.compile("<module>([^<]+)</module>");
    private static final Pattern PROJECT_DEPENDENCY = Pattern.compile(
            "<groupId>io\\.expertmesh</groupId>\\s*<artifactId>([^<]+)</artifactId>");
    private static final Pattern PACKAGE = Pattern.compile("^package (io\\.expertmesh\\.[\\w.]+);", Pattern.MULTILINE);
    private static final Pattern PROJECT_NAME = Pattern.compile("\\bio\\.expertmesh\\.[a-z][\\w.]*");

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The modules in data-path order, as the parent pom lists them. */
    private static List<String> modules() {
        List<String> modules = new ArrayList<>();
        Matcher m = MODULE.matcher(read(ROOT.resolve("pom.xml")));
        while (m.find()) modules.add(m.group(1));
        return modules;
    }

    private static List<Path> javaSources(String module) {
        Path src = ROOT.resolve(module).resolve("src");
        if (!Files.isDirectory(src)) return List.of();
        try (Stream<Path> files = Files.walk(src)) {
            return files.filter(f -> f.toString().endsWith(".java") && Files.isRegularFile(f)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void theDataPathOrderIsTheOneTheArchitectureDocStates() {
        List<String> modules = modules();
        assertEquals(List.of("model", "kv-store", "protocol", "expert-actors", "attention-actors", "gateway", "tools", "cluster-config",
                "load-tests"), modules, "module order in pom.xml");
        String doc = read(ROOT.resolve("docs/architecture.md"));
        int at = -1;
        for (String module : modules) {
            int next = doc.indexOf("`" + module + "`", at + 1);
            assertTrue(next > at, "docs/architecture.md names `" + module + "` after the modules before it in the data path");
            at = next;
        }
    }

    @Test
    void noPomDependsOnAModuleLaterOnTheDataPath() {
        List<String> modules = modules();
        for (String module : modules) {
            String pom = read(ROOT.resolve(module).resolve("pom.xml"));
            Matcher m = PROJECT_DEPENDENCY.matcher(pom.substring(pom.indexOf("</parent>")));
            while (m.find()) {
                String dependency = m.group(1);
                assertTrue(modules.contains(dependency), module + " depends on unknown module " + dependency);
                assertTrue(modules.indexOf(dependency) < modules.indexOf(module), module + "/pom.xml depends on " + dependency
                        + ", which comes after it on the data path");
            }
        }
    }

    @Test
    void noSourceNamesAClassOfAModuleLaterOnTheDataPath() {
        List<String> modules = modules();
        Map<String, String> packageModule = new LinkedHashMap<>();
        for (String module : modules) {
            for (Path file : javaSources(module)) {
                Matcher p = PACKAGE.matcher(read(file));
                if (p.find()) packageModule.putIfAbsent(p.group(1), module);
            }
        }
        assertTrue(packageModule.size() > modules.size(), "found the project's packages: " + packageModule.keySet());
        List<String> violations = new ArrayList<>();
        for (String module : modules) {
            int rank = modules.indexOf(module);
            for (Path file : javaSources(module)) {
                Matcher names = PROJECT_NAME.matcher(read(file));
                while (names.find()) {
                    String owner = ownerModule(packageModule, names.group());
                    if (owner != null && modules.indexOf(owner) > rank) {
                        violations.add(ROOT.relativize(file) + " names " + names.group() + " of " + owner);
                    }
                }
            }
        }
        assertEquals(List.of(), violations, "references against the data path");
    }

    /** The module of the longest known package that prefixes {@code name}, or null. */
    private static String ownerModule(Map<String, String> packageModule, String name) {
        String best = null;
        int length = -1;
        for (var e : packageModule.entrySet()) {
            String pkg = e.getKey();
            if ((name.equals(pkg) || name.startsWith(pkg + ".")) && pkg.length() > length) {
                best = e.getValue();
                length = pkg.length();
            }
        }
        return best;
    }
}
