package io.expertmesh.model.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Reading a PTX module's header and parameter lists, and the driver each PTX ISA version needs. */
class PtxModuleTest {
    /** The minimum driver docs/gpu.md states: the CUDA 12.2 driver line (R535+). */
    private static final int DOCUMENTED_MINIMUM_DRIVER = 12020;

    private static PtxModule header(String version) {
        return PtxModule.parse(".version " + version + "\n.target sm_90\n.address_size 64\n");
    }

    @Test
    void shippedPtxDeclaresAtMostIsa82ForHopper() {
        PtxModule shipped = CudaDevice.MODULE;
        assertEquals("sm_90", shipped.target());
        assertTrue(shipped.isaMajor() < 8 || shipped.isaMajor() == 8 && shipped.isaMinor() <= 2,
                "the shipped PTX declares ISA " + shipped.isa() + ", newer than the CUDA 12.2 driver loads; see scripts/build-ptx");
    }

    @Test
    void shippedPtxLoadsOnTheDocumentedMinimumDriverAndIsRefusedBelowIt() {
        PtxModule shipped = CudaDevice.MODULE;
        assertEquals(Optional.empty(), shipped.driverRefusal(DOCUMENTED_MINIMUM_DRIVER));
        String refusal = shipped.driverRefusal(12010).orElseThrow(
                () -> new AssertionError("a CUDA 12.1 driver loads the shipped PTX, so docs/gpu.md understates the driver it runs on"));
        assertTrue(refusal.contains("CUDA 12.1") && refusal.contains("12010"), refusal);
        assertTrue(refusal.contains("CUDA 12.2 or newer") && refusal.contains("R535"), refusal);
    }

    @Test
    void eachPtxIsaVersionMapsToTheCudaReleaseThatIntroducedIt() {
        assertEquals(Optional.of(12020), header("8.2").minimumDriverVersion());
        assertEquals(Optional.of(12040), header("8.4").minimumDriverVersion());
        assertEquals(Optional.of(12080), header("8.7").minimumDriverVersion());
        assertEquals(Optional.of(13000), header("9.0").minimumDriverVersion());
        assertEquals(Optional.empty(), header("9.9").minimumDriverVersion());
    }

    @Test
    void anOlderDriverIsRefusedWithItsVersionAndTheMinimum() {
        String refusal = header("9.0").driverRefusal(12080).orElseThrow();
        assertTrue(refusal.contains("CUDA 12.8") && refusal.contains("12080"), refusal);
        assertTrue(refusal.contains("CUDA 13.0 or newer") && refusal.contains("R580"), refusal);
        assertEquals(Optional.empty(), header("9.0").driverRefusal(13000));
        assertEquals(Optional.empty(), header("9.0").driverRefusal(13010));
        assertTrue(header("9.9").driverRefusal(99000).orElseThrow().contains("ISA 9.9"));
    }

    @Test
    void entryParametersAreReadInOrder() {
        PtxModule m = PtxModule.parse("""
                .version 9.0
                .target sm_90
                .visible .entry fill(
                \t.param .u64 fill_param_0,
                \t.param .u32 fill_param_1,
                \t.param .f32 fill_param_2
                )
                .visible .entry none()
                """);
        assertEquals(List.of("u64", "u32", "f32"), m.parameters("fill"));
        assertEquals(List.of(), m.parameters("none"));
        assertThrows(IllegalArgumentException.class, () -> m.parameters("missing"));
    }

    @Test
    void ptxWithoutAVersionLineIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> PtxModule.parse(".target sm_90\n"));
    }
}
