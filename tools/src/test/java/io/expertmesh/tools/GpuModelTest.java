package io.expertmesh.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.expertmesh.model.TinyModel;
import io.expertmesh.model.cuda.CudaDevice;
import io.expertmesh.model.engine.LoadedModel;
import java.io.PrintStream;
import java.io.OutputStream;
import org.junit.jupiter.api.Test;

/** The GPU path on the bundled tiny model: skipped (never passed) where no GPU is present. */
class GpuModelTest {
    @Test
    void gpuReproducesTheReferenceAndTheCpuPathOnEveryCase() {
        var reason = CudaDevice.unavailableReason();
        assumeTrue(reason.isEmpty(), () -> "no GPU: " + reason.orElse(""));
        try (LoadedModel cpu = LoadedModel.open(TinyModel.dir(), 2);
             GpuCheckpoint gpu = GpuCheckpoint.open(TinyModel.dir(), 4096, new PrintStream(OutputStream.nullOutputStream()))) {
            for (GpuCorrectness.CaseResult c : GpuCorrectness.run(cpu, gpu.gpu(), TinyModel.dir())) {
                assertArrayEquals(c.expectedIds(), c.gpuIds(), c.name() + ": greedy ids");
                assertTrue(c.maxDiffVsReference() <= GpuCorrectness.TOLERANCE, c.name() + ": |gpu - reference| = " + c.maxDiffVsReference());
                assertTrue(c.maxDiffVsCpu() <= GpuCorrectness.TOLERANCE, c.name() + ": |gpu - cpu| = " + c.maxDiffVsCpu());
            }
        }
    }
}
