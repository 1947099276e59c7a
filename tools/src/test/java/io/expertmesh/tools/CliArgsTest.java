package io.expertmesh.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The option parser and the help it prints, both built from one {@link CommandSpec}. */
class CliArgsTest {
    private static final CommandSpec SPEC = CommandSpec.of("demo", "Does a demonstration.",
            Option.valued("count", "N", 3, "how many"),
            Option.valued("ratio", "X", 0.5f, "a fraction"),
            Option.valued("scale", "X", 1f, "a factor"),
            Option.required("name", "TEXT", "who"),
            Option.computed("later", "V", () -> "computed", "a default known when the help is shown"),
            Option.valued("wait", "D", "5s", "how long to wait"),
            Option.valued("model", "DIR|FILE.gguf", "none", "a model"),
            Option.flag("json", "print JSON"));

    @TempDir
    Path tmp;

    private static CliArgs parse(String... args) {
        return CliArgs.parse(SPEC, args);
    }

    @Test
    void valuedOptionsTakeTheNextArgumentOrAnInlineValueAndFlagsTakeNone() {
        CliArgs a = parse("--count", "7", "--name=x", "--json");
        assertEquals(7, a.integer("count", 3, 0, 10));
        assertEquals("x", a.required("name"));
        assertTrue(a.flag("json"));
        assertEquals(0.5f, a.number("ratio", 0.5f));
        assertFalse(parse().flag("json"));
        assertEquals(List.of("a", "b"), parse("--name", "a", "--name", "b").all("name"));
        assertTrue(assertThrows(UsageException.class, () -> parse("--json=yes")).getMessage().contains("--json takes no value"));
        assertTrue(assertThrows(UsageException.class, () -> parse("--count")).getMessage().contains("--count needs a value"));
    }

    @Test
    void anUnknownOptionOrAStrayArgumentIsAUsageErrorThatPointsAtTheHelp() {
        var unknown = assertThrows(UsageException.class, () -> parse("--bogus", "1"));
        assertEquals("unknown option --bogus for 'demo' (mesh demo --help lists the options)", unknown.getMessage());
        var stray = assertThrows(UsageException.class, () -> parse("stray"));
        assertTrue(stray.getMessage().contains("'stray'") && stray.getMessage().contains("mesh demo --help"), stray.getMessage());
    }

    @Test
    void helpOrHAnywhereAmongTheOptionsAsksForTheHelp() {
        for (String[] args : List.of(new String[] {"--help"}, new String[] {"-h"}, new String[] {"--count", "2", "--help"})) {
            assertEquals(SPEC.help(), assertThrows(HelpRequest.class, () -> parse(args)).getMessage());
        }
        assertEquals("--help", parse("--name", "--help").required("name"), "a value that looks like --help is still a value");
    }

    @Test
    void theHelpListsEveryOptionWithItsDefault() {
        String help = SPEC.help();
        assertTrue(help.startsWith("usage: mesh demo [options]\nDoes a demonstration.\n"), help);
        for (Option o : SPEC.options()) assertTrue(help.contains(o.help()), o.name() + " is missing from\n" + help);
        assertTrue(help.contains("  --count N "), help);
        assertTrue(help.contains("how many (default: 3)"), help);
        assertTrue(help.contains("a fraction (default: 0.5)"), help);
        assertTrue(help.contains("a factor (default: 1)"), help);
        assertTrue(help.contains("who (required)"), help);
        assertTrue(help.contains("when the help is shown (default: computed)"), help);
        assertTrue(help.contains("  --json "), help);
        assertTrue(help.contains("  -h, --help "), help);
        assertTrue(help.contains("  --debug "), help);
    }

    @Test
    void everyCommandTakesHelpAndDebugAndNoOptionTwice() {
        assertTrue(SPEC.options().containsAll(List.of(CommandSpec.HELP, CommandSpec.DEBUG)));
        assertTrue(parse("--debug").flag("debug"));
        var twice = assertThrows(IllegalArgumentException.class,
                () -> CommandSpec.of("dup", "Twice.", Option.flag("json", "a"), Option.flag("json", "b")));
        assertTrue(twice.getMessage().contains("--json"), twice.getMessage());
    }

    @Test
    void aDurationTakesOneUnitOfMsSMOrHAndMustLieWithinItsBounds() {
        Duration min = Duration.ofMillis(100);
        Duration max = Duration.ofHours(2);
        assertEquals(Duration.ofSeconds(5), parse().duration("wait", Duration.ofSeconds(5), min, max));
        assertEquals(Duration.ofMillis(500), parse("--wait", "500ms").duration("wait", null, min, max));
        assertEquals(Duration.ofMinutes(90), parse("--wait=90m").duration("wait", null, min, max));
        assertEquals(Duration.ofHours(2), parse("--wait", "2h").duration("wait", null, min, max));
        for (String bad : List.of("5", "1.5s", "-1s", "5 s", "1m30s", "5d")) {
            var e = assertThrows(UsageException.class, () -> parse("--wait", bad).duration("wait", null, min, max));
            assertTrue(e.getMessage().startsWith("--wait must be a duration such as 500ms"), e.getMessage());
        }
        var beyond = assertThrows(UsageException.class, () -> parse("--wait", "3h").duration("wait", null, min, max));
        assertEquals("--wait must be between 100ms and 2h00m, got 3h", beyond.getMessage());
    }

    @Test
    void readingAnOptionTheCommandDoesNotDeclareIsABug() {
        CliArgs a = parse();
        assertThrows(IllegalStateException.class, () -> a.has("undeclared"));
        assertThrows(IllegalStateException.class, () -> a.flag("count"));
        assertThrows(IllegalStateException.class, () -> a.string("json", null));
    }

    @Test
    void everyToolsCommandsHelpShowsTheDefaultEachOptionDeclares() {
        for (CommandSpec spec : List.of(ModelCommands.GENERATE, ModelCommands.TOKENIZE, ModelCommands.LOGITS, Synth.SPEC, Bench.SPEC,
                ServeBench.SPEC, Soak.SPEC, GpuCheck.SPEC)) {
            String help = spec.help();
            for (Option o : spec.options()) {
                String line = help.lines().filter(l -> l.startsWith("  --" + o.name() + " ") || l.startsWith("  -h, --" + o.name() + " "))
                        .findFirst().orElseThrow(() -> new AssertionError(spec.name() + ": --" + o.name() + " is not in\n" + help));
                assertTrue(line.contains(o.help()), line);
                if (o.isRequired()) assertTrue(line.endsWith("(required)"), line);
                else if (o.takesValue()) assertTrue(line.endsWith("(default: " + o.defaultText() + ")"), line);
            }
        }
    }

    @Test
    void aModelIsADirectoryOrAGgufFileThatExists() throws IOException {
        Path gguf = Files.writeString(tmp.resolve("ernie.gguf"), "GGUF");
        assertEquals(tmp, parse("--name", "n", "--model", tmp.toString()).model("model", null));
        assertEquals(gguf, parse("--name", "n", "--model", gguf.toString()).model("model", null));
        Path bin = Files.writeString(tmp.resolve("ernie.bin"), "x");
        var other = assertThrows(UsageException.class, () -> parse("--name", "n", "--model", bin.toString()).model("model", null));
        assertTrue(other.getMessage().startsWith("--model: " + bin + ": not a model directory or a .gguf file"), other.getMessage());
        var absent = assertThrows(UsageException.class, () -> parse("--name", "n", "--model", tmp.resolve("no.gguf").toString()).model("model", null));
        assertTrue(absent.getMessage().contains("not found"), absent.getMessage());
        assertThrows(UsageException.class, () -> parse("--name", "n").model("model", null));
    }
}
