package io.expertmesh.model.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The emulator refuses what a GPU refuses: each test breaks one rule with a real kernel (or, for
 * static shared memory, a test-only one from src/test/cuda) and checks the failure names it.
 */
class EmulatedGpuRulesTest {
    private static float[] ones(int n) {
        float[] v = new float[n];
        Arrays.fill(v, 1f);
        return v;
    }

    @Test
    void anOutOfBoundsGlobalAccessFaultsNamingTheKernelBlockThreadAndAddress() {
        try (EmulatedGpu gpu = EmulatedGpu.open()) {
            DevicePointer x = gpu.upload(ones(16));
            DevicePointer y = gpu.upload(ones(16));
            String message = assertThrows(IllegalStateException.class, () -> gpu.launch("add_in_place", 1, 1, 32, 0, x, y, 32)).getMessage();
            assertTrue(message.contains("kernel add_in_place, block (0, 0), thread 16"), message);
            String xEnd = "0x" + Long.toHexString(x.address() + 64), yEnd = "0x" + Long.toHexString(y.address() + 64);
            assertTrue(message.contains("4-byte access at " + xEnd) || message.contains("4-byte access at " + yEnd), message);
            assertTrue(message.contains("outside its allocation") && message.contains("of 64 bytes (offset 64)"), message);

            gpu.copyIn(x, ones(16), 16);  // threads 0-15 wrote before the fault, as on a GPU
            gpu.launch("add_in_place", 1, 1, 32, 0, x, y, 16);  // in bounds, and the emulator is usable after a fault
            float[] sum = new float[16];
            gpu.copyOut(sum, x, 16);
            float[] twos = ones(16);
            Arrays.fill(twos, 2f);
            assertArrayEquals(twos, sum);
        }
    }

    @Test
    void aMisalignedVectorLoadFaults() {
        try (EmulatedGpu gpu = EmulatedGpu.open()) {
            DevicePointer w = gpu.allocate(64);  // BF16 rows of 8: linear_small reads each row as one 16-byte uint4
            DevicePointer x = gpu.upload(ones(8));
            DevicePointer y = gpu.allocate(4);
            String message = assertThrows(IllegalStateException.class,
                    () -> gpu.launch("linear_small", 1, 1, 32, 0, w.plus(2), x, DevicePointer.NULL, y, 1, 8, 1, 1)).getMessage();
            assertTrue(message.contains("kernel linear_small") && message.contains("16-byte access at 0x" + Long.toHexString(w.address() + 2))
                    && message.contains("misaligned"), message);
            gpu.launch("linear_small", 1, 1, 32, 0, w.plus(16), x, DevicePointer.NULL, y, 1, 8, 1, 1);
        }
    }

    @Test
    void anAccessThroughAFreedAllocationFaults() {
        try (EmulatedGpu gpu = EmulatedGpu.open()) {
            DevicePointer x = gpu.upload(ones(16));
            gpu.free(x);
            DevicePointer y = gpu.upload(ones(16));
            String message = assertThrows(IllegalStateException.class, () -> gpu.launch("add_in_place", 1, 1, 32, 0, x, y, 16)).getMessage();
            assertTrue(message.contains("kernel add_in_place") && message.contains("null or not in any device allocation"), message);
        }
    }

    @Test
    void dynamicSharedMemoryIsBoundsCheckedAtTheLaunchsSize() {
        int dim = 32, experts = 8, k = 2;
        try (EmulatedGpu gpu = EmulatedGpu.open()) {
            DevicePointer x = gpu.upload(ones(dim));
            DevicePointer router = gpu.upload(ones(experts * dim));
            DevicePointer bias = gpu.upload(new float[experts]);
            DevicePointer chosen = gpu.allocate(4L * k);
            DevicePointer weights = gpu.allocate(4L * k);
            Object[] args = {x, router, bias, chosen, weights, dim, experts, k, 1e-12f};
            String message = assertThrows(IllegalStateException.class, () -> gpu.launch("route_topk", 1, 1, 32, 4 * (experts - 1), args))
                    .getMessage();
            assertTrue(message.contains("kernel route_topk") && message.contains("outside its dynamic shared memory"), message);
            gpu.launch("route_topk", 1, 1, 32, 4 * experts, args);
        }
    }

    @Test
    void aWrongArgumentWidthIsRefusedBeforeTheKernelRuns() {
        try (EmulatedGpu gpu = EmulatedGpu.open()) {
            DevicePointer w = gpu.allocate(64);
            String message = assertThrows(IllegalArgumentException.class, () -> gpu.launch("fill_random_bf16", 1, 1, 32, 0, w, 32, 7L, 0.02f))
                    .getMessage();
            assertTrue(message.contains("fill_random_bf16: argument 1 is Integer 32") && message.contains(".u64"), message);
            gpu.launch("fill_random_bf16", 1, 1, 32, 0, w, 32L, 7L, 0.02f);
        }
    }

    @Test
    void moreThan48KbOfStaticSharedMemoryFails() throws IOException {
        PtxModule faults;
        try (InputStream in = EmulatedGpuRulesTest.class.getResourceAsStream("/io/expertmesh/model/cuda/emulator_faults.ptx")) {
            faults = PtxModule.parse(new String(in.readAllBytes(), StandardCharsets.US_ASCII));
        }
        try (EmulatedGpu gpu = EmulatedGpu.open(faults)) {
            DevicePointer out = gpu.allocate(4 * 32);
            String message = assertThrows(IllegalStateException.class, () -> gpu.launch("static_shared_49k", 1, 1, 32, 0, out)).getMessage();
            assertTrue(message.contains("kernel static_shared_49k") && message.contains("50176 bytes of static"), message);
        }
    }

    @Test
    void staticAndDynamicSharedMemoryTogetherAreLimitedTo48Kb() {
        try (EmulatedGpu gpu = EmulatedGpu.open()) {
            DevicePointer x = gpu.upload(ones(32));
            DevicePointer w = gpu.upload(ones(32));
            DevicePointer out = gpu.allocate(4 * 32);
            String message = assertThrows(IllegalStateException.class,
                    () -> gpu.launch("rms_norm", 1, 1, 32, KernelLaunch.MAX_SHARED_BYTES, x, w, out, 32, 1e-6f)).getMessage();
            assertTrue(message.contains("kernel rms_norm") && message.contains("128 bytes of static and 49152 of dynamic"), message);
            gpu.launch("rms_norm", 1, 1, 32, KernelLaunch.MAX_SHARED_BYTES - 128, x, w, out, 32, 1e-6f);
        }
    }

    @Test
    void aKernelFirstLaunchedInsideACaptureFails() {
        try (EmulatedGpu gpu = EmulatedGpu.open()) {
            DevicePointer x = gpu.upload(ones(16));
            DevicePointer y = gpu.upload(ones(16));
            Runnable add = () -> gpu.launch("add_in_place", 1, 1, 32, 0, x, y, 16);
            String message = assertThrows(IllegalStateException.class, () -> gpu.capture(add)).getMessage();
            assertTrue(message.contains("add_in_place is first launched inside a graph capture"), message);

            add.run();
            try (Gpu.Graph graph = gpu.capture(add)) {
                gpu.replay(graph);
            }
            float[] sum = new float[16];
            gpu.copyOut(sum, x, 16);
            assertTrue(sum[0] == 3f && sum[15] == 3f, "1 + 1 eagerly, + 1 replayed: " + sum[0]);
        }
    }
}
