package io.expertmesh.model.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The launch checks both the real GPU and the emulator go through, on the shipped kernels' PTX. */
class KernelLaunchTest {
    private static final DevicePointer P = new DevicePointer(0x1000);

    private static String refusal(int gridX, int gridY, int block, int shared, Object... args) {
        return assertThrows(IllegalArgumentException.class, () -> KernelLaunch.of(CudaDevice.MODULE, "fill_random_bf16", gridX, gridY, block, shared, args))
                .getMessage();
    }

    @Test
    void argumentsAreEncodedAtTheWidthOfTheirPtxParameters() {
        KernelLaunch launch = KernelLaunch.of(CudaDevice.MODULE, "fill_random_bf16", 4, 1, 256, 0, P, 10L, 7L, 0.5f);
        assertEquals(List.of(new KernelLaunch.Argument(8, 0x1000), new KernelLaunch.Argument(8, 10), new KernelLaunch.Argument(8, 7),
                new KernelLaunch.Argument(4, Float.floatToRawIntBits(0.5f))), launch.arguments());
        KernelLaunch add = KernelLaunch.of(CudaDevice.MODULE, "add_in_place", 1, 1, 32, 0, P, P, -1);
        assertEquals(new KernelLaunch.Argument(4, 0xffffffffL), add.arguments().get(2));
    }

    @Test
    void anIntegerForASizeTParameterIsRefused() {
        String message = refusal(4, 1, 256, 0, P, 10, 7L, 0.5f);
        assertTrue(message.contains("fill_random_bf16") && message.contains("argument 1 is Integer 10") && message.contains(".u64"), message);
    }

    @Test
    void wrongTypesAndCountsAreRefused() {
        assertTrue(refusal(4, 1, 256, 0, P, 10L, 7L, 0.5).contains("argument 3 is Double"));
        assertTrue(refusal(4, 1, 256, 0, 1L, 10L, 7L, 1).contains("argument 3 is Integer"));
        assertTrue(refusal(4, 1, 256, 0, P, 10L, 7L).contains("3 arguments for its 4 PTX parameters"));
        assertTrue(refusal(4, 1, 256, 0, P, 10L, null, 0.5f).contains("argument 2 is null"));
    }

    @Test
    void launchesBeyondTheHardwareLimitsAreRefused() {
        assertTrue(refusal(4, 1, 1025, 0, P, 10L, 7L, 0.5f).contains("1025 threads per block"));
        assertTrue(refusal(4, 1, 0, 0, P, 10L, 7L, 0.5f).contains("0 threads per block"));
        assertTrue(refusal(4, 65536, 256, 0, P, 10L, 7L, 0.5f).contains("65536"));
        assertTrue(refusal(0, 1, 256, 0, P, 10L, 7L, 0.5f).contains("grid 0"));
        assertTrue(refusal(4, 1, 256, 49 * 1024, P, 10L, 7L, 0.5f).contains("50176 bytes of dynamic shared memory"));
        KernelLaunch.of(CudaDevice.MODULE, "fill_random_bf16", 4, 65535, 1024, 48 * 1024, P, 10L, 7L, 0.5f);
    }

    @Test
    void anUnknownKernelIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> KernelLaunch.of(CudaDevice.MODULE, "no_such_kernel", 1, 1, 1, 0));
    }
}
