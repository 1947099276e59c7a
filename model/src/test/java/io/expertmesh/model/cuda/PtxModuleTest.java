package io.expertmesh.model.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Reading a PTX module's header and parameter lists, and the driver each PTX ISA version needs. */
class PtxModuleTest {
    /** The minimum driver docs/gpu.md states: the CUDA 13.0 driver line (R580+). */
    private static final int DOCUMENTED_MINIMUM_DRIVER = 13000;

    private static PtxModule header(String version) {
        return PtxModule.parse(".version " + version + "\n.target sm_90\n.address_size 64\n");
    }

    @Test
    void shippedPtxNeedsExactlyTheDocumentedMinimumDriverAndTargetsHopper() {
        PtxModule shipped = CudaDevice.MODULE;
        assertEquals("sm_90", shipped.target());
        assertEquals(Optional.of(DOCUMENTED_MINIMUM_DRIVER), shipped.minimumDriverVersion(),
                "the shipped PTX is ISA " + shipped.isa() + "; docs/gpu.md and this test state a CUDA 13.0 driver as the minimum");
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
