package io.expertmesh.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.kvstore.PooledSequences;
import io.expertmesh.model.TinyModel;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.generate.Generation;
import io.expertmesh.model.generate.Generator;
import io.expertmesh.model.sampling.SamplingParams;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthTest {
    @TempDir
    Path tmp;

    private Path synth(String name, long seed) {
        Path out = tmp.resolve(name);
        Synth.run(new String[] {"--config", TinyModel.dir().resolve("config.json").toString(), "--layers", "3", "--out", out.toString(),
                "--seed", Long.toString(seed), "--shard-gb", "0.002"}, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(new ByteArrayOutputStream()));
        return out;
    }

    @Test
    void theSameSeedWritesTheSameBytesAndAnotherSeedDoesNot() throws IOException {
        Path a = synth("a", 7), b = synth("b", 7), c = synth("c", 8);
        try (var files = Files.list(a)) {
            for (Path f : files.toList()) {
                assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(b.resolve(f.getFileName())), f.getFileName().toString());
            }
        }
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(a.resolve("model-00001-of-00003.safetensors")),
                Files.readAllBytes(c.resolve("model-00001-of-00003.safetensors"))));
    }

    @Test
    void theCheckpointHasTheRequestedShapeLoadsAndGenerates() {
        Path dir = synth("model", 1);
        ErnieConfig config = ErnieConfig.load(dir);
        assertEquals(3, config.numLayers());
        assertEquals(2, config.moeLayerEnd());
        assertTrue(Files.exists(dir.resolve("model.safetensors.index.json")));
        Tokenizer tokenizer = Tokenizer.load(dir);
        assertEquals(config.vocabSize(), tokenizer.size());
        String text = "Hello, world! 你好";
        assertEquals(text, tokenizer.decode(tokenizer.encode(text), false));
        try (LoadedModel model = LoadedModel.open(dir, 2)) {
            Generation g = new Generator(PooledSequences.onHeap(model.model()), tokenizer).generate(tokenizer.encode(text), SamplingParams.greedy(5, Set.of()), s -> {});
            assertEquals(5, g.generatedIds().length);
        }
    }
}
