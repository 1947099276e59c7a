package io.expertmesh.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.TinyModel;
import io.expertmesh.model.cuda.EmulatedGpu;
import io.expertmesh.model.engine.LoadedModel;
import java.io.OutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;

/**
 * {@code gpu-check}'s tiny stage on the CPU emulator of the CUDA execution model (see EmulatedGpu in
 * the model module): the GPU step over kv-store block tables against the CPU step and the
 * transformers reference on every case of the bundled tiny model. {@link GpuModelTest} runs it on a
 * real GPU.
 */
class GpuCorrectnessEmulatedTest {
    @Test
    void emulatedGpuReproducesTheReferenceAndTheCpuPathOnEveryCase() {
        try (LoadedModel cpu = LoadedModel.open(TinyModel.dir(), 2);
             GpuCheckpoint gpu = GpuCheckpoint.open(TinyModel.dir(), 4096, EmulatedGpu::open, new PrintStream(OutputStream.nullOutputStream()))) {
            for (GpuCorrectness.CaseResult c : GpuCorrectness.run(cpu, gpu.gpu(), TinyModel.dir())) {
                System.out.printf("emulated GPU, case %s: ids equal %b, max|gpu-ref| %.2e, max|gpu-cpu| %.2e%n", c.name(), c.idsMatch(),
                        c.maxDiffVsReference(), c.maxDiffVsCpu());
                assertArrayEquals(c.expectedIds(), c.gpuIds(), c.name() + ": greedy ids");
                assertTrue(c.maxDiffVsReference() <= GpuCorrectness.TOLERANCE, c.name() + ": |gpu - reference| = " + c.maxDiffVsReference());
                assertTrue(c.maxDiffVsCpu() <= GpuCorrectness.TOLERANCE, c.name() + ": |gpu - cpu| = " + c.maxDiffVsCpu());
            }
        }
    }
}
