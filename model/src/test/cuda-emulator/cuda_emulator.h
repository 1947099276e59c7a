// A CPU emulator of the CUDA execution model, for testing the project's kernels without a GPU.
// Each block runs on the calling OS thread; its threads are fibers with their own stacks, switched
// at __syncthreads (a block-wide barrier) and at warp shuffles (a barrier of the warp's live lanes,
// taken twice so that a lane's value is read before it is overwritten). Blocks run one after another,
// so `static` stands in for __shared__. Arithmetic is plain IEEE fp32 (built with -ffp-contract=off),
// which a GPU's non-contracted operations match.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstddef>
#include <algorithm>

struct dim3 { unsigned x = 1, y = 1, z = 1; };
extern dim3 threadIdx, blockIdx, blockDim, gridDim;
extern unsigned char* emu_dynamic_smem;

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __shared__ static

void emu_yield_sync();
void emu_yield_warp();
extern uint64_t emu_shuffle_slots[1024];

inline void __syncthreads() { emu_yield_sync(); }

template <class T> inline T __shfl_xor_sync(unsigned, T v, int laneMask) {
    static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
    unsigned me = threadIdx.x;
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    emu_shuffle_slots[me] = bits;
    emu_yield_warp();
    unsigned partner = (me & ~31u) | ((me & 31u) ^ (unsigned)laneMask);
    T r;
    uint64_t got = emu_shuffle_slots[partner];
    std::memcpy(&r, &got, sizeof(T));
    emu_yield_warp();
    return r;
}

struct __nv_bfloat16 { uint16_t bits; };
struct uint4 { unsigned x, y, z, w; };
struct float4 { float x, y, z, w; };

inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline float __bfloat162float(__nv_bfloat16 b) { return __uint_as_float((unsigned)b.bits << 16); }
inline __nv_bfloat16 __float2bfloat16(float f) {
    unsigned u; std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return __nv_bfloat16{(uint16_t)((u >> 16) | 0x40)};
    u += 0x7fffu + ((u >> 16) & 1u);
    return __nv_bfloat16{(uint16_t)(u >> 16)};
}
template <class T> inline T __ldg(const T* p) { return *p; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline int atomicAdd(int* p, int v) { int old = *p; *p += v; return old; }
using std::min;
using std::max;
