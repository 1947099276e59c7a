// A CPU emulator of the CUDA execution model, for testing the project's kernels without a GPU.
// Each block runs on the calling OS thread; its threads are fibers with their own stacks, switched
// at __syncthreads (a block-wide barrier) and at warp shuffles (a barrier of the warp's live lanes,
// taken twice so that a lane's value is read before it is overwritten). Blocks run one after another,
// so `static` stands in for __shared__ (EmulatedGpu.translate rewrites each declaration and reports
// its size, for the 48 KB limit). Arithmetic is IEEE fp32 built with -ffp-contract=fast, so a·b + c
// may become one fma as nvcc makes it; the __f*_rn intrinsics, which nvcc never contracts, are kept
// apart by empty asm statements.
//
// What real hardware enforces, the emulator enforces too, failing the launch with a message (see
// emu_error): every global-memory pointer a kernel gets (its arguments, and addresses read from
// device memory and cast to pointers) is a gptr that knows its allocation and checks each access;
// dynamic shared memory is checked the same way; static plus dynamic shared memory is at most 48 KB
// per block. Launch dimensions and argument types are checked in Java (KernelLaunch) before a launch.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstddef>
#include <algorithm>
#include <type_traits>

struct dim3 { unsigned x = 1, y = 1, z = 1; };
extern dim3 threadIdx, blockIdx, blockDim, gridDim;
extern unsigned char* emu_dynamic_smem;

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __align__(n) __attribute__((aligned(n)))

void emu_yield_sync();
void emu_yield_warp();
extern uint64_t emu_shuffle_slots[1024];

// Ends the running kernel with a fault at `address` (`bytes` wide, outside [lo, hi), the range of
// the pointer's allocation, or misaligned); never returns to the faulting thread.
[[noreturn]] void emu_fault_access(uintptr_t address, size_t bytes, uintptr_t lo, uintptr_t hi);
// Counts a static __shared__ variable of `bytes` toward the block's 48 KB (once per variable and launch).
void emu_static_shared(const void* variable, size_t bytes);
// The device allocation holding `address` as [lo, hi), or false when none does.
bool emu_find_allocation(uintptr_t address, uintptr_t& lo, uintptr_t& hi);
extern size_t emu_dynamic_smem_bytes;

// A pointer into global (or dynamic shared) memory that checks every access against the range it
// was derived from and for natural alignment, as the GPU would fault. Pointers made from a raw C++
// pointer (local arrays, static __shared__ arrays) are not checked.
template <class T> struct gptr {
    T* p = nullptr;
    uintptr_t lo = 0, hi = 0;  // an empty range (null or unknown address): every access faults

    gptr() = default;
    gptr(std::nullptr_t) {}
    gptr(T* raw) : p(raw), lo(0), hi(UINTPTR_MAX) {}
    gptr(T* q, uintptr_t l, uintptr_t h) : p(q), lo(l), hi(h) {}
    template <class U, class = std::enable_if_t<std::is_convertible<U*, T*>::value>>
    gptr(gptr<U> o) : p(o.p), lo(o.lo), hi(o.hi) {}

    // A GPU needs each access naturally aligned (a uint4 on 16 bytes), whatever the host type's alignof.
    static constexpr uintptr_t ALIGNMENT = (sizeof(T) & (sizeof(T) - 1)) == 0 && sizeof(T) <= 16 ? sizeof(T) : 1;

    T* checked(T* q) const {
        uintptr_t a = reinterpret_cast<uintptr_t>(q);
        if (__builtin_expect(a < lo || a > hi || hi - a < sizeof(T) || (a & (ALIGNMENT - 1)) != 0, 0)) emu_fault_access(a, sizeof(T), lo, hi);
        return q;
    }
    template <class I> T& operator[](I i) const { return *checked(p + i); }
    T& operator*() const { return *checked(p); }
    template <class I, class = std::enable_if_t<std::is_integral<I>::value>> gptr operator+(I n) const { return {p + n, lo, hi}; }
    template <class I, class = std::enable_if_t<std::is_integral<I>::value>> gptr operator-(I n) const { return {p - n, lo, hi}; }
    explicit operator bool() const { return p != nullptr; }
};

// A device address (a kernel argument, or one read from device memory) as a pointer checked against its allocation.
template <class T> inline gptr<T> emu_global(unsigned long long address) {
    uintptr_t lo = 0, hi = 0;
    emu_find_allocation(address, lo, hi);
    return {reinterpret_cast<T*>(address), lo, hi};
}

template <class T> inline gptr<T> emu_dynamic_shared() {
    uintptr_t lo = reinterpret_cast<uintptr_t>(emu_dynamic_smem);
    return {reinterpret_cast<T*>(emu_dynamic_smem), lo, lo + emu_dynamic_smem_bytes};
}

// reinterpret_cast as the kernels use it, keeping (or, from an integer address, finding) the range.
template <class To> struct emu_cast_to;
template <class T> struct emu_cast_to<gptr<T>> {
    template <class U> static gptr<T> from(gptr<U> v) { return {reinterpret_cast<T*>(v.p), v.lo, v.hi}; }
    static gptr<T> from(unsigned long long address) { return emu_global<T>(address); }
};
template <class To, class From> inline To emu_cast(From v) { return emu_cast_to<To>::from(v); }

inline void __syncthreads() { emu_yield_sync(); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu_yield_warp(); }

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
template <class T> inline std::remove_const_t<T> __ldg(gptr<T> p) { return *p; }
// Rounded operations nvcc never fuses: the empty asm makes each operand and result a value the
// compiler cannot look through, so -ffp-contract=fast cannot merge them into an fma either.
inline float emu_opaque(float v) {
    asm("" : "+x"(v));
    return v;
}
inline float __fmul_rn(float a, float b) { return emu_opaque(emu_opaque(a) * emu_opaque(b)); }
inline float __fadd_rn(float a, float b) { return emu_opaque(emu_opaque(a) + emu_opaque(b)); }
inline float __fsub_rn(float a, float b) { return emu_opaque(emu_opaque(a) - emu_opaque(b)); }
inline int atomicAdd(int* p, int v) { int old = *p; *p += v; return old; }
using std::min;
using std::max;

// WMMA: every lane holds the whole tile and does the whole (warp-collective) operation itself, so
// the result is the same in every lane, as the API promises; products summed in k order in fp32.
namespace nvcuda { namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void> struct fragment {
    static constexpr int rows = std::is_same<Use, matrix_b>::value ? K : M;
    static constexpr int cols = std::is_same<Use, matrix_a>::value ? K : N;
    float v[rows * cols];
};

inline float widen(__nv_bfloat16 b) { return __bfloat162float(b); }
inline float widen(float f) { return f; }

template <class Use, int M, int N, int K, class T, class L>
inline void fill_fragment(fragment<Use, M, N, K, T, L>& f, float value) {
    for (float& x : f.v) x = value;
}

// Element (r, c) of the tile at p[r·ldm + c] (row_major) or p[c·ldm + r] (col_major).
template <class Use, int M, int N, int K, class T, class L, class P>
inline void load_matrix_sync(fragment<Use, M, N, K, T, L>& f, gptr<P> p, unsigned ldm) {
    using F = fragment<Use, M, N, K, T, L>;
    for (int r = 0; r < F::rows; r++)
        for (int c = 0; c < F::cols; c++)
            f.v[r * F::cols + c] = widen(std::is_same<L, col_major>::value ? p[(size_t)c * ldm + r] : p[(size_t)r * ldm + c]);
}

template <int M, int N, int K, class T, class LA, class LB>
inline void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, T, LA>& a,
                     const fragment<matrix_b, M, N, K, T, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
    float out[M * N];
    std::memcpy(out, c.v, sizeof out);
    for (int m = 0; m < M; m++)            // k outside n: each sum still runs in k order, and n vectorizes
        for (int k = 0; k < K; k++)
            for (int n = 0; n < N; n++) out[m * N + n] += a.v[m * K + k] * b.v[k * N + n];
    std::memcpy(d.v, out, sizeof out);
}

template <int M, int N, int K>
inline void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm, layout_t layout) {
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            if (layout == mem_col_major) p[(size_t)n * ldm + m] = f.v[m * N + n];
            else p[(size_t)m * ldm + n] = f.v[m * N + n];
        }
}
} }
