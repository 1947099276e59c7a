package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.gateway.GatewaySettings;
import io.expertmesh.model.Json;
import io.expertmesh.model.cuda.CudaDevice;
import io.expertmesh.model.safetensors.SafetensorsFile;
import io.expertmesh.model.safetensors.Tensor;
import io.expertmesh.protocol.ClusterKeys;
import io.expertmesh.tools.CommandSpec;
import io.expertmesh.tools.ModelCommands;
import io.expertmesh.tools.Option;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code mesh} command line as outside checks call it: exact JSON shapes, exit codes, one-line errors. */
class MeshMainTest {
    private static final Path MODEL = Path.of(System.getProperty("expertmesh.tinyModel", "../models/tiny-ernie-4.5-moe"));
    /** A small checkpoint and its GGUF made by scripts/llamacpp/to_gguf.py (the model module's fixtures, see make_fixtures.py there). */
    private static final Path GGUF_FIXTURES = Path.of("..", "model", "src", "test", "resources", "io", "expertmesh", "model", "gguf");

    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
        JsonNode json() {
            try {
                return Json.MAPPER.readTree(out);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + out, e);
            }
        }
    }

    static Result mesh(String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int code = MeshMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static JsonNode reference() {
        return Json.readTree(MODEL.resolve("reference.json"));
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }

    @Test
    void generateWithAChatPromptReproducesTransformersGreedyIds() {
        JsonNode chat0 = reference().get("cases").get(0);
        Result r = mesh("generate", "--model", MODEL.toString(), "--prompt", "Give me a short introduction to large language model.",
                "--max-new-tokens", "24", "--temperature", "0", "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals(1, r.out().strip().lines().count());
        assertArrayEquals(ints(chat0.get("input_ids")), ints(r.json().get("prompt_ids")));
        assertArrayEquals(ints(chat0.get("greedy_new_ids")), ints(r.json().get("generated_ids")));
        assertTrue(r.json().get("text").isTextual());
    }

    @Test
    void generateWithPromptIdsUsesThemAsTheyAre() {
        JsonNode c = reference().get("cases").get(4);
        String ids = String.join(",", Arrays.stream(ints(c.get("input_ids"))).mapToObj(String::valueOf).toList());
        Result r = mesh("generate", "--model", MODEL.toString(), "--prompt-ids", ids, "--max-new-tokens", "24", "--temperature", "0", "--json");
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(ints(c.get("greedy_new_ids")), ints(r.json().get("generated_ids")));
    }

    @Test
    void sampledGenerationWithASeedRepeatsExactly() {
        String[] args = {"generate", "--model", MODEL.toString(), "--prompt", "Hello", "--max-new-tokens", "12", "--temperature", "0.9",
                "--top-p", "0.9", "--seed", "1234", "--json"};
        Result a = mesh(args);
        Result b = mesh(args);
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out());
    }

    @Test
    void tokenizeMatchesTransformersIds() {
        JsonNode c = Json.readTree(MODEL.resolve("tokenizer_reference.json")).get("tokenize").get(1);
        Result r = mesh("tokenize", "--model", MODEL.toString(), "--text", c.get("text").asText(), "--json");
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(ints(c.get("ids")), ints(r.json().get("ids")));
    }

    @Test
    void logitsListsTheTopEntriesOfTheLastPositionLikeTransformers() {
        JsonNode chat0 = reference().get("cases").get(0);
        int[] ids = ints(chat0.get("input_ids"));
        Tensor expected = SafetensorsFile.open(MODEL.resolve("reference.safetensors"), Arena.ofAuto()).tensors().get("chat0.logits");
        int vocab = (int) expected.shape()[1];
        long base = (long) (ids.length - 1) * vocab;
        Integer[] order = new Integer[vocab];
        for (int t = 0; t < vocab; t++) order[t] = t;
        Arrays.sort(order, Comparator.comparingDouble(t -> -expected.getFloat(base + t)));
        String idList = String.join(",", Arrays.stream(ids).mapToObj(String::valueOf).toList());
        Result r = mesh("logits", "--model", MODEL.toString(), "--prompt-ids", idList, "--top", "5", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode top = r.json().get("top");
        assertEquals(5, top.size());
        for (int k = 0; k < 5; k++) {
            assertEquals(order[k].intValue(), top.get(k).get("id").asInt());
            assertEquals(expected.getFloat(base + order[k]), top.get(k).get("logit").floatValue(), 1e-3);
        }
    }

    @Test
    void badArgumentsExitNonZeroWithOneLineNamingTheProblem() {
        assertOneLineError(mesh("generate", "--model", MODEL.toString(), "--max-new-tokens", "4"), 2, "--prompt");
        assertOneLineError(mesh("generate", "--model", MODEL.toString(), "--prompt", "hi", "--max-new-tokens", "many"), 2, "--max-new-tokens");
        assertOneLineError(mesh("generate", "--model", MODEL.toString(), "--prompt", "hi", "--temperature", "-1"), 2, "temperature");
        assertOneLineError(mesh("generate", "--model", MODEL.toString(), "--prompt-ids", "1,99999"), 2, "99999");
        assertOneLineError(mesh("generate", "--model", MODEL.toString(), "--prompt", "hi", "--bogus", "1"), 2, "--bogus");
        assertOneLineError(mesh("generate", "--model", MODEL.toString(), "--prompt", "hi", "--bogus", "1"), 2, "mesh generate --help");
        assertOneLineError(mesh("tokenize", "--model", tmp.resolve("absent").toString(), "--text", "x"), 2, "absent");
        assertOneLineError(mesh("frobnicate"), 2, "frobnicate");
        assertOneLineError(mesh("serve", "--model", MODEL.toString(), "--port", "0", "--reasoning-parser", "qwen3"), 2,
                "--reasoning-parser must be one of ernie45, got qwen3");
    }

    @Test
    void serveHelpNamesEveryReasoningParserTheGatewayAccepts() {
        Result help = mesh("serve", "--help");
        assertTrue(help.out().contains("split chat output into reasoning_content and content: "
                + String.join(", ", GatewaySettings.REASONING_PARSERS) + " (default"), help.out());
    }

    @Test
    void clusterKeysWritesACaAndOneLoadableDirectoryPerNodeAndRefusesToOverwrite() {
        Path out = tmp.resolve("keys");
        Result made = mesh("cluster-keys", "--out", out.toString(), "--nodes", "gw,e1");
        assertEquals(0, made.code(), made.err());
        assertTrue(made.out().contains("created a CA in " + out.resolve("ca")), made.out());
        assertEquals("gw", ClusterKeys.load(out.resolve("gw")).nodeName());
        assertEquals("e1", ClusterKeys.load(out.resolve("e1")).nodeName());
        Result added = mesh("cluster-keys", "--out", out.toString(), "--nodes", "e2");
        assertEquals(0, added.code(), added.err());
        assertTrue(added.out().contains("using the CA in"), added.out());
        assertOneLineError(mesh("cluster-keys", "--out", out.toString(), "--nodes", "e1"), 2, "already exists");
        assertOneLineError(mesh("cluster-keys", "--out", out.toString(), "--nodes", "../up"), 2, "node name '../up'");
    }

    @Test
    void aNodeNeedsClusterKeysOrAnExplicitInsecureFlag() {
        String[] base = {"node", "--model", MODEL.toString(), "--roles", "expert", "--seed-nodes", "127.0.0.1:1"};
        assertOneLineError(mesh(base), 2, "--cluster-keys DIR is required");
        assertOneLineError(mesh(concat(base, "--insecure", "--cluster-keys", tmp.toString())), 2, "not both");
        assertOneLineError(mesh(concat(base, "--cluster-keys", tmp.resolve("absent").toString())), 1, "absent");
    }

    @Test
    void deviceChoiceIsValidatedAndAutoRunsOnTheCpuWhereThereIsNoGpu() {
        String[] base = {"generate", "--model", MODEL.toString(), "--prompt-ids", "3,4053,1449", "--max-new-tokens", "4", "--json"};
        assertOneLineError(mesh(concat(base, "--device", "tpu")), 2, "--device must be cpu, cuda or auto");
        assumeTrue(CudaDevice.unavailableReason().isPresent(), "this machine has a GPU");
        assertOneLineError(mesh(concat(base, "--device", "cuda")), 2, "libcuda.so.1");
        assertOneLineError(mesh("gpu-check", "--model", MODEL.toString(), "--out", tmp.resolve("gpu").toString()), 1, "gpu-check needs a GPU");
        Result cpu = mesh(concat(base, "--device", "cpu"));
        assertEquals(0, cpu.code(), cpu.err());
        assertEquals(cpu.out(), mesh(concat(base, "--device", "auto")).out());
    }

    @Test
    void everyCommandsHelpListsEveryOptionItAcceptsWithItsDefault() {
        for (MeshMain.Command c : MeshMain.commands(MODEL, System.out, System.err)) {
            CommandSpec spec = c.spec();
            Result help = mesh(spec.name(), "--help");
            assertEquals(0, help.code(), help.err());
            assertEquals("", help.err());
            assertTrue(help.out().startsWith("usage: mesh " + spec.name() + " [options]\n" + spec.summary() + "\n"), help.out());
            for (Option o : spec.options()) {
                String line = help.out().lines()
                        .filter(l -> l.startsWith("  --" + o.name() + " ") || l.startsWith("  -h, --" + o.name() + " ")).findFirst()
                        .orElseThrow(() -> new AssertionError(spec.name() + " --help does not list --" + o.name() + ":\n" + help.out()));
                assertTrue(line.contains(o.help()), line);
                if (o.isRequired()) assertTrue(line.endsWith("(required)"), line);
                else if (o.takesValue()) assertTrue(line.endsWith("(default: " + o.defaultText() + ")"), line);
            }
            assertEquals(help, mesh(spec.name(), "-h"));
            assertOneLineError(mesh(spec.name(), "--no-such-option"), 2, "mesh " + spec.name() + " --help");
        }
    }

    @Test
    void helpAfterOtherOptionsShowsTheHelpAndRunsNothing() {
        Result r = mesh("generate", "--model", MODEL.toString(), "--prompt", "hi", "--help");
        assertEquals(0, r.code(), r.err());
        assertEquals(ModelCommands.GENERATE.help(), r.out());
    }

    @Test
    void topLevelHelpListsEveryCommandOnStdoutAndNoArgumentsPrintItToStderrAsAUsageError() {
        Result help = mesh("--help");
        assertEquals(0, help.code(), help.err());
        assertEquals("", help.err());
        List<String> names = new ArrayList<>(MeshMain.SCRIPT_COMMANDS.keySet());
        for (MeshMain.Command c : MeshMain.commands(MODEL, System.out, System.err)) names.add(c.spec().name());
        assertTrue(names.containsAll(List.of("serve", "node", "generate", "tokenize", "logits", "synth", "bench", "bench-serve",
                "soak", "gpu-check", "cluster-keys", "test", "loadtest", "dist")), names.toString());
        for (String name : names) {
            assertTrue(help.out().lines().anyMatch(l -> l.startsWith("  " + name + " ")), name + " is not listed:\n" + help.out());
        }
        assertEquals(help, mesh("help"));
        assertEquals(help, mesh("-h"));
        Result none = mesh();
        assertEquals(2, none.code());
        assertEquals("", none.out());
        assertEquals(help.out(), none.err());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void corruptCheckpointExitsNonZeroWithOneLineNamingTheFile() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("corrupt"));
        try (var files = Files.list(MODEL)) {
            for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("model-00001-of-00002.safetensors").toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        assertOneLineError(mesh("generate", "--model", dir.toString(), "--prompt", "hi", "--json"), 1, "model-00001-of-00002.safetensors");
        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": \"wide\"}");
        assertOneLineError(mesh("logits", "--model", dir.toString(), "--prompt-ids", "1,2"), 1, "hidden_size");
    }

    @Test
    void aGgufFileIsTakenByModelAndGivesTheLogitsOfItsSourceDirectory() throws IOException {
        String gguf = GGUF_FIXTURES.resolve("tiny-moe.gguf").toString();
        Result fromDir = mesh("logits", "--model", GGUF_FIXTURES.resolve("tiny-moe").toString(), "--prompt-ids", "1,17,200,3,259", "--json");
        Result fromGguf = mesh("logits", "--model", gguf, "--prompt-ids", "1,17,200,3,259", "--json");
        assertEquals(0, fromGguf.code(), fromGguf.err());
        assertEquals(10, fromGguf.json().get("top").size());
        assertEquals(fromDir.out(), fromGguf.out());
        assertOneLineError(mesh("generate", "--model", gguf, "--prompt", "hi"), 1, "metadata key tokenizer.");
        Path other = Files.writeString(tmp.resolve("model.bin"), "x");
        assertOneLineError(mesh("logits", "--model", other.toString(), "--prompt-ids", "1"), 2, "not a model directory or a .gguf file");
    }

    private static void assertOneLineError(Result r, int code, String mention) {
        assertEquals(code, r.code(), r.err());
        assertEquals("", r.out());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(mention), r.err());
    }
}
