// Test-only kernels that break a hardware rule on purpose, so that the emulator's tests can show it
// is enforced (EmulatedGpuRulesTest). scripts/build-ptx compiles them to PTX without running ptxas,
// which refuses them as the GPU would.

// 49 KB of static shared memory: one more KB than a block may have (ptxas: "uses too much shared data").
extern "C" __global__ void static_shared_49k(float* out) {
    __shared__ float big[49 * 256];
    big[threadIdx.x] = (float)threadIdx.x;
    __syncthreads();
    out[threadIdx.x] = big[(threadIdx.x + 1) % blockDim.x];
}
