// ExpertMesh CUDA kernels for the ERNIE-4.5 MoE forward pass.
//
// Weight matrices are BF16, or GGML's Q8_0 / Q4_K / Q6_K blocks exactly as a GGUF file holds them (read and
// dequantized in registers; no dequantized copy in device memory); activations, the KV cache, the
// router and every accumulation are fp32, so the GPU path differs from the CPU path only in the
// order of fp32 additions.
// Compiled to PTX by scripts/build-ptx (nvcc -arch=sm_90); the PTX is committed as a resource and
// loaded with the CUDA driver API (JCuda), so no CUDA runtime, cuBLAS or NVRTC is needed at run time.
#include <cuda_bf16.h>
#include <mma.h>
#include <stdint.h>

using namespace nvcuda;

// Tokens one weight pass serves in the small-batch kernels: each warp keeps this many accumulators.
#define MAX_TOKENS 8
// Positions one attention block scores at a time (its thread count).
#define ATTN_CHUNK 128

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Reduces over the block with `warp_op` (warp_sum or warp_max); every thread gets the result. `red`
// holds 32 floats of shared memory; `identity` stands in for the warps the block does not have.
template <float (*warp_op)(float)>
__device__ float block_reduce(float v, float* red, float identity) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_op(v);
    if (lane == 0) red[warp] = v;
    __syncthreads();
    v = lane < warps ? red[lane] : identity;
    v = warp_op(v);
    __syncthreads();
    return v;
}

__device__ float block_sum(float v, float* red) { return block_reduce<warp_sum>(v, red, 0.f); }

__device__ float block_max(float v, float* red) { return block_reduce<warp_max>(v, red, -INFINITY); }

__device__ __forceinline__ float silu_times(float g, float u) {
    return g / (1.f + expf(-g)) * u;
}

// Eight BF16 weights (one 16-byte load) widened to fp32.
__device__ __forceinline__ void widen8(uint4 p, float* w) {
    w[0] = __uint_as_float(p.x << 16); w[1] = __uint_as_float(p.x & 0xffff0000u);
    w[2] = __uint_as_float(p.y << 16); w[3] = __uint_as_float(p.y & 0xffff0000u);
    w[4] = __uint_as_float(p.z << 16); w[5] = __uint_as_float(p.z & 0xffff0000u);
    w[6] = __uint_as_float(p.w << 16); w[7] = __uint_as_float(p.w & 0xffff0000u);
}

// acc[t] += W[row] · x[t] for t < tokens, one warp per row; x rows are `ldx` floats apart.
__device__ __forceinline__ void warp_row_dots(const __nv_bfloat16* __restrict__ w, const float* __restrict__ x, int ldx,
                                              int cols, int tokens, float* acc) {
    int lane = threadIdx.x & 31;
    if ((cols & 7) == 0) {
        const uint4* w8 = reinterpret_cast<const uint4*>(w);
        for (int c8 = lane; c8 < cols / 8; c8 += 32) {
            float wf[8];
            widen8(__ldg(w8 + c8), wf);
#pragma unroll
            for (int t = 0; t < MAX_TOKENS; t++) {
                if (t < tokens) {
                    const float4* xv = reinterpret_cast<const float4*>(x + (size_t)t * ldx + c8 * 8);
                    float4 a = xv[0], b = xv[1];
                    float s = acc[t];
                    s = fmaf(wf[0], a.x, s); s = fmaf(wf[1], a.y, s); s = fmaf(wf[2], a.z, s); s = fmaf(wf[3], a.w, s);
                    s = fmaf(wf[4], b.x, s); s = fmaf(wf[5], b.y, s); s = fmaf(wf[6], b.z, s); s = fmaf(wf[7], b.w, s);
                    acc[t] = s;
                }
            }
        }
    } else {
        for (int c = lane; c < cols; c += 32) {
            float wv = __bfloat162float(w[c]);
#pragma unroll
            for (int t = 0; t < MAX_TOKENS; t++) {
                if (t < tokens) acc[t] = fmaf(wv, x[(size_t)t * ldx + c], acc[t]);
            }
        }
    }
#pragma unroll
    for (int t = 0; t < MAX_TOKENS; t++) {
        if (t < tokens) acc[t] = warp_sum(acc[t]);  // tokens is the same for the whole warp
    }
}

// out[t, c] = table[ids[t], c]: one block per token.
extern "C" __global__ void embed_rows(const __nv_bfloat16* __restrict__ table, const int* __restrict__ ids,
                                      float* __restrict__ out, int dim) {
    const __nv_bfloat16* row = table + (size_t)ids[blockIdx.x] * dim;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) out[(size_t)blockIdx.x * dim + c] = __bfloat162float(row[c]);
}

// out[t] = w ⊙ (x[t] · rsqrt(mean(x[t]²) + eps)): one block per row.
extern "C" __global__ void rms_norm(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ out,
                                    int dim, float eps) {
    __shared__ float red[32];
    const float* xr = x + (size_t)blockIdx.x * dim;
    float* o = out + (size_t)blockIdx.x * dim;
    float s = 0.f;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) s = fmaf(xr[c], xr[c], s);
    s = block_sum(s, red);
    float scale = 1.f / sqrtf(s / dim + eps);
    for (int c = threadIdx.x; c < dim; c += blockDim.x) o[c] = __fmul_rn(w[c], __fmul_rn(xr[c], scale));
}

// y[t, r] = W[r] · x[t] (+ bias[r]) for up to MAX_TOKENS tokens: one warp per weight row, so each
// row is read once per launch. The decode path (and small batches) of every linear layer.
extern "C" __global__ void linear_small(const __nv_bfloat16* __restrict__ W, const float* __restrict__ x,
                                        const float* __restrict__ bias, float* __restrict__ y, int rows, int cols,
                                        int tokens, int ldy) {
    int row = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    if (row >= rows) return;
    float acc[MAX_TOKENS];
#pragma unroll
    for (int t = 0; t < MAX_TOKENS; t++) acc[t] = 0.f;
    warp_row_dots(W + (size_t)row * cols, x, cols, cols, tokens, acc);
    if ((threadIdx.x & 31) == 0) {
        float b = bias ? bias[row] : 0.f;
#pragma unroll
        for (int t = 0; t < MAX_TOKENS; t++) {
            if (t < tokens) y[(size_t)t * ldy + row] = acc[t] + b;
        }
    }
}

// The same product for many tokens: a 64-row × 64-token tile per block, K in steps of 16 through
// shared memory, 4×4 outputs per thread (fp32 FMA on the CUDA cores).
extern "C" __global__ void linear_tiled(const __nv_bfloat16* __restrict__ W, const float* __restrict__ x,
                                        const float* __restrict__ bias, float* __restrict__ y, int rows, int cols,
                                        int tokens, int ldy) {
    __shared__ float ws[16][68];
    __shared__ float xs[16][68];
    int r0 = blockIdx.x * 64, t0 = blockIdx.y * 64;
    int tr = threadIdx.x & 15, tt = threadIdx.x >> 4;
    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0.f;
    for (int k0 = 0; k0 < cols; k0 += 16) {
        for (int i = threadIdx.x; i < 1024; i += 256) {
            int rr = i >> 4, kk = i & 15, r = r0 + rr, k = k0 + kk;
            ws[kk][rr] = (r < rows && k < cols) ? __bfloat162float(W[(size_t)r * cols + k]) : 0.f;
            int t = t0 + rr;
            xs[kk][rr] = (t < tokens && k < cols) ? x[(size_t)t * cols + k] : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < 16; kk++) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = ws[kk][tr * 4 + i];
#pragma unroll
            for (int j = 0; j < 4; j++) b[j] = xs[kk][tt * 4 + j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int r = r0 + tr * 4 + i;
        if (r >= rows) continue;
        float b = bias ? bias[r] : 0.f;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int t = t0 + tt * 4 + j;
            if (t < tokens) y[(size_t)t * ldy + r] = acc[i][j] + b;
        }
    }
}

// v as its three BF16 parts at index i (see split_bf16).
__device__ __forceinline__ void split_three(float v, __nv_bfloat16* __restrict__ hi, __nv_bfloat16* __restrict__ mid,
                                            __nv_bfloat16* __restrict__ lo, size_t i) {
    __nv_bfloat16 h = __float2bfloat16(v);
    float r = v - __bfloat162float(h);
    __nv_bfloat16 m = __float2bfloat16(r);
    hi[i] = h;
    mid[i] = m;
    lo[i] = __float2bfloat16(r - __bfloat162float(m));
}

// x split into three BF16 parts, hi = bf16(x), mid = bf16(x - hi), lo = bf16(x - hi - mid): each
// difference is exact in fp32, and the three parts hold all 24 significant bits of a normal x, so
// W·hi + W·mid + W·lo on the tensor cores (exact BF16 products, fp32 accumulation) is the fp32
// product up to the order of additions, while W stays BF16. Elements [n, padded) are zero: the
// tensor-core tiles read whole 16-token groups.
extern "C" __global__ void split_bf16(const float* __restrict__ x, __nv_bfloat16* __restrict__ hi,
                                      __nv_bfloat16* __restrict__ mid, __nv_bfloat16* __restrict__ lo, int n,
                                      int padded) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < padded; i += gridDim.x * blockDim.x) {
        split_three(i < n ? x[i] : 0.f, hi, mid, lo, i);
    }
}

// acc[j] += W tile (16 rows from w, K = cols) · the three BF16 parts of x rows [s + 16j, s + 16j + 16), j < groups.
__device__ __forceinline__ void tc_rows_by_slots(const __nv_bfloat16* __restrict__ w, int cols,
                                                 const __nv_bfloat16* __restrict__ hi, const __nv_bfloat16* __restrict__ mid,
                                                 const __nv_bfloat16* __restrict__ lo, int s, int groups,
                                                 wmma::fragment<wmma::accumulator, 16, 16, 16, float>* acc) {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b;
    for (int k0 = 0; k0 < cols; k0 += 16) {
        wmma::load_matrix_sync(a, w + k0, cols);
#pragma unroll
        for (int j = 0; j < 4; j++) {
            if (j < groups) {
                size_t xo = (size_t)(s + 16 * j) * cols + k0;
                wmma::load_matrix_sync(b, hi + xo, cols);
                wmma::mma_sync(acc[j], a, b, acc[j]);
                wmma::load_matrix_sync(b, mid + xo, cols);
                wmma::mma_sync(acc[j], a, b, acc[j]);
                wmma::load_matrix_sync(b, lo + xo, cols);
                wmma::mma_sync(acc[j], a, b, acc[j]);
            }
        }
    }
}

// y[t, r] = W[r] · x[t] (+ bias[r]) on the tensor cores for many tokens (prefill): each warp owns
// 16 weight rows × 64 tokens (4 accumulator tiles, so each A tile is loaded once per 4 products),
// K in steps of 16; the fp32 activations enter as their three BF16 parts (split_bf16) with fp32
// accumulation. Needs rows and cols multiples of 16; x parts padded to whole 16-token groups.
// Four warps per block; grid (rows / 64 rounded up, tokens / 64 rounded up).
extern "C" __global__ void linear_tc(const __nv_bfloat16* __restrict__ W, const __nv_bfloat16* __restrict__ xHi,
                                     const __nv_bfloat16* __restrict__ xMid, const __nv_bfloat16* __restrict__ xLo,
                                     const float* __restrict__ bias, float* __restrict__ y, int rows, int cols,
                                     int tokens, int ldy) {
    __shared__ __align__(128) float staging[4][16 * 16];  // wmma::store_matrix_sync needs 32-byte alignment
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int r0 = (blockIdx.x * 4 + warp) * 16;
    int t0 = blockIdx.y * 64;
    if (r0 >= rows) return;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[4];
#pragma unroll
    for (int j = 0; j < 4; j++) wmma::fill_fragment(acc[j], 0.f);
    int groups = min(4, (tokens - t0 + 15) / 16);
    tc_rows_by_slots(W + (size_t)r0 * cols, cols, xHi, xMid, xLo, t0, groups, acc);
    for (int j = 0; j < groups; j++) {
        wmma::store_matrix_sync(staging[warp], acc[j], 16, wmma::mem_col_major);
        __syncwarp();
        for (int i = lane; i < 256; i += 32) {
            int m = i % 16, n = i / 16, t = t0 + 16 * j + n;
            if (t < tokens) y[(size_t)t * ldy + r0 + m] = staging[warp][i] + (bias ? bias[r0 + m] : 0.f);
        }
        __syncwarp();
    }
}

// Interleaved (GPT-J) rotary embedding of every head of row t, with the host's cos/sin table
// [tokens, headDim/2] (the CPU path's own values).
extern "C" __global__ void rope_interleaved(float* __restrict__ x, const float* __restrict__ cosT,
                                            const float* __restrict__ sinT, int heads, int headDim) {
    int t = blockIdx.x, half = headDim / 2;
    for (int i = threadIdx.x; i < heads * half; i += blockDim.x) {
        int h = i / half, j = i % half;
        float* p = x + (size_t)t * heads * headDim + h * headDim + 2 * j;
        float c = cosT[t * half + j], s = sinT[t * half + j];
        float a = p[0], b = p[1];
        p[0] = __fsub_rn(__fmul_rn(a, c), __fmul_rn(b, s));
        p[1] = __fadd_rn(__fmul_rn(b, c), __fmul_rn(a, s));
    }
}

// Writes row t's key and value into its slot of the layer's block pool.
extern "C" __global__ void kv_store(const float* __restrict__ k, const float* __restrict__ v, float* __restrict__ kPool,
                                    float* __restrict__ vPool, const int* __restrict__ slots, int kvDim) {
    int t = blockIdx.x;
    size_t dst = (size_t)slots[t] * kvDim;
    for (int c = threadIdx.x; c < kvDim; c += blockDim.x) {
        kPool[dst + c] = k[(size_t)t * kvDim + c];
        vPool[dst + c] = v[(size_t)t * kvDim + c];
    }
}

// Online-softmax attention of query row t, head h over positions [p0, p1) of its sequence's paged
// KV blocks, ATTN_CHUNK positions at a time (ATTN_CHUNK threads): on return m is the largest score,
// l = Σ e^(score - m) and acc[i] = Σ e^(score - m) · v[d] for dims d = threadIdx.x + i·ATTN_CHUNK
// (headDim ≤ 4·ATTN_CHUNK). Query head h reads KV head h / (heads / kvHeads). Shared memory:
// headDim + 2·ATTN_CHUNK floats.
__device__ void attend_range(const float* __restrict__ q, const float* __restrict__ kPool, const float* __restrict__ vPool,
                             const int* __restrict__ table, int t, int h, int p0, int p1, int heads, int kvHeads, int headDim,
                             int blockSize, float scale, float* sm, float& m, float& l, float* acc) {
    float* qs = sm;
    float* ps = sm + headDim;
    int* slot = reinterpret_cast<int*>(ps + ATTN_CHUNK);
    __shared__ float red[32];
    int kvh = h / (heads / kvHeads), kvDim = kvHeads * headDim;
    const float* qr = q + (size_t)t * heads * headDim + h * headDim;
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) qs[d] = qr[d];
    m = -INFINITY;
    l = 0.f;
    for (int i = 0; i < 4; i++) acc[i] = 0.f;
    __syncthreads();
    for (int c0 = p0; c0 < p1; c0 += ATTN_CHUNK) {
        int count = min(ATTN_CHUNK, p1 - c0);
        float s = -INFINITY;
        if (threadIdx.x < count) {
            int p = c0 + threadIdx.x;
            int sl = table[p / blockSize] * blockSize + p % blockSize;
            slot[threadIdx.x] = sl;
            const float* kr = kPool + (size_t)sl * kvDim + kvh * headDim;
            float d = 0.f;
            for (int i = 0; i < headDim; i++) d = fmaf(qs[i], kr[i], d);
            s = d * scale;
        }
        float mNew = fmaxf(m, block_max(s, red));
        float e = threadIdx.x < count ? expf(s - mNew) : 0.f;
        ps[threadIdx.x] = e;
        float sum = block_sum(e, red);
        float correction = expf(m - mNew);
        l = l * correction + sum;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int d = threadIdx.x + i * ATTN_CHUNK;
            if (d < headDim) {
                float a = acc[i] * correction;
                for (int j = 0; j < count; j++) a = fmaf(ps[j], vPool[(size_t)slot[j] * kvDim + kvh * headDim + d], a);
                acc[i] = a;
            }
        }
        m = mNew;
        __syncthreads();
    }
}

// Causal attention of query row t, head h (block (t, h)): positions [0, positions[t]], normalised.
// The prefill path, where rows × heads blocks already fill the GPU.
extern "C" __global__ void attention_rows(const float* __restrict__ q, const float* __restrict__ kPool,
                                          const float* __restrict__ vPool, const int* __restrict__ tables,
                                          const int* __restrict__ tableStart, const int* __restrict__ positions,
                                          float* __restrict__ out, int heads, int kvHeads, int headDim, int blockSize,
                                          float scale) {
    extern __shared__ float sm[];
    int t = blockIdx.x, h = blockIdx.y;
    float m, l, acc[4];
    attend_range(q, kPool, vPool, tables + tableStart[t], t, h, 0, positions[t] + 1, heads, kvHeads, headDim, blockSize, scale, sm, m,
                 l, acc);
    float* o = out + (size_t)t * heads * headDim + h * headDim;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int d = threadIdx.x + i * ATTN_CHUNK;
        if (d < headDim) o[d] = acc[i] / l;
    }
}

// Split-K decode attention, part 1: block (t·splits + s, h) covers the s-th of `splits` equal
// ranges of row t's positions [0, positions[t]] (the ranges come from the device, so a captured
// decode graph stays valid as sequences grow) and writes its unnormalised partial (m, l, acc) to
// part*[((t·heads + h)·splits + s)]. Spreads a few rows' attention over many SMs.
extern "C" __global__ void attention_split(const float* __restrict__ q, const float* __restrict__ kPool,
                                           const float* __restrict__ vPool, const int* __restrict__ tables,
                                           const int* __restrict__ tableStart, const int* __restrict__ positions,
                                           float* __restrict__ partAcc, float* __restrict__ partMax, float* __restrict__ partSum,
                                           int heads, int kvHeads, int headDim, int blockSize, float scale, int splits) {
    extern __shared__ float sm[];
    int t = blockIdx.x / splits, s = blockIdx.x % splits, h = blockIdx.y;
    int n = positions[t] + 1, span = (n + splits - 1) / splits;
    int p0 = min(n, s * span), p1 = min(n, p0 + span);
    float m, l, acc[4];
    attend_range(q, kPool, vPool, tables + tableStart[t], t, h, p0, p1, heads, kvHeads, headDim, blockSize, scale, sm, m, l, acc);
    size_t part = ((size_t)t * heads + h) * splits + s;
    if (threadIdx.x == 0) {
        partMax[part] = m;
        partSum[part] = l;
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int d = threadIdx.x + i * ATTN_CHUNK;
        if (d < headDim) partAcc[part * headDim + d] = acc[i];
    }
}

// Split-K decode attention, part 2: out[t, h] = Σ_s acc_s · e^(m_s − M) / Σ_s l_s · e^(m_s − M) with
// M the largest m_s (an empty range has m = −inf and adds nothing). Block (t, h), one thread per dim.
extern "C" __global__ void attention_merge(const float* __restrict__ partAcc, const float* __restrict__ partMax,
                                           const float* __restrict__ partSum, float* __restrict__ out, int heads, int headDim,
                                           int splits) {
    int t = blockIdx.x, h = blockIdx.y;
    size_t first = ((size_t)t * heads + h) * splits;
    float mx = -INFINITY;
    for (int s = 0; s < splits; s++) mx = fmaxf(mx, partMax[first + s]);
    float total = 0.f;
    for (int s = 0; s < splits; s++) total += partSum[first + s] * expf(partMax[first + s] - mx);
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
        float a = 0.f;
        for (int s = 0; s < splits; s++) a += partAcc[(first + s) * headDim + d] * expf(partMax[first + s] - mx);
        out[(size_t)t * heads * headDim + h * headDim + d] = a / total;
    }
}

// Expert choice of token t (one block per token): fp32 router logits, softmax, the k best by
// p + bias (ties to the lower id; the bias only chooses), weights p / max(Σ chosen p, normMin).
// Shared memory: `experts` floats.
extern "C" __global__ void route_topk(const float* __restrict__ x, const float* __restrict__ router,
                                      const float* __restrict__ bias, int* __restrict__ chosen,
                                      float* __restrict__ weights, int dim, int experts, int k, float normMin) {
    extern __shared__ float p[];
    int t = blockIdx.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    const float* xr = x + (size_t)t * dim;
    for (int e = warp; e < experts; e += warps) {
        const float* w = router + (size_t)e * dim;
        float s = 0.f;
        for (int c = lane; c < dim; c += 32) s = fmaf(xr[c], w[c], s);
        s = warp_sum(s);
        if (lane == 0) p[e] = s;
    }
    __syncthreads();
    if (threadIdx.x != 0) return;
    float mx = -INFINITY;
    for (int e = 0; e < experts; e++) mx = fmaxf(mx, p[e]);
    float sum = 0.f;
    for (int e = 0; e < experts; e++) {
        p[e] = expf(p[e] - mx);
        sum += p[e];
    }
    for (int e = 0; e < experts; e++) p[e] /= sum;
    float total = 0.f;
    int* out = chosen + t * k;
    for (int j = 0; j < k; j++) {
        int best = -1;
        float bestScore = -INFINITY;
        for (int e = 0; e < experts; e++) {
            bool taken = false;
            for (int i = 0; i < j; i++) taken |= out[i] == e;
            if (taken) continue;
            float score = p[e] + bias[e];
            if (best < 0 || score > bestScore) {
                best = e;
                bestScore = score;
            }
        }
        out[j] = best;
        total += p[best];
    }
    float denom = fmaxf(total, normMin);
    for (int j = 0; j < k; j++) weights[t * k + j] = p[out[j]] / denom;
}

// Groups a step's (token, choice) pairs by expert, tokens ascending within an expert: slot s of
// expert e lies in [expertStart[e], expertStart[e+1]); tokenSlot[t·k + j] is the slot of choice j
// of token t (-1 for a choice below 0: an expert served elsewhere); active[0..n) lists the n
// experts with tokens, ascending, and active[experts] = n, so the expert kernels need only
// min(experts, tokens·k) blocks per row group. One block; the choices are staged in shared memory
// (tokens·k + experts ints).
extern "C" __global__ void moe_group(const int* __restrict__ chosen, int tokens, int k, int experts,
                                     int* __restrict__ expertStart, int* __restrict__ slotToken,
                                     int* __restrict__ tokenSlot, int* __restrict__ active) {
    extern __shared__ int smem[];
    int* ch = smem;
    int* fill = smem + tokens * k;
    int n = tokens * k;
    for (int i = threadIdx.x; i < n; i += blockDim.x) ch[i] = chosen[i];
    for (int e = threadIdx.x; e < experts; e += blockDim.x) fill[e] = 0;
    __syncthreads();
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        if (ch[i] >= 0) atomicAdd(&fill[ch[i]], 1);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        int start = 0, used = 0;
        for (int e = 0; e < experts; e++) {
            int c = fill[e];
            if (c > 0) active[used++] = e;
            expertStart[e] = start;
            fill[e] = start;
            start += c;
        }
        expertStart[experts] = start;
        active[experts] = used;
        for (int i = 0; i < n; i++) {
            if (ch[i] < 0) {
                tokenSlot[i] = -1;
                continue;
            }
            int s = fill[ch[i]]++;
            slotToken[s] = i / k;
            tokenSlot[i] = s;
        }
    }
}

// Expert e's matrix from a table of device addresses (one per expert id; experts load separately).
__device__ __forceinline__ const __nv_bfloat16* expert_matrix(const unsigned long long* __restrict__ table, int e) {
    return reinterpret_cast<const __nv_bfloat16*>(table[e]);
}

// What a block of an expert kernel works on: block (row group, i) serves the i-th expert with tokens
// (active[experts] of them), whose slots are [start, end), from the given first row. expert is -1
// when the block is past that count or the row past the matrix's rows: nothing to do.
struct ExpertJob {
    int expert, start, end, row;
};

__device__ __forceinline__ ExpertJob expert_job(const int* __restrict__ expertStart, const int* __restrict__ active, int experts,
                                                int row, int rows) {
    if (blockIdx.y >= (unsigned)active[experts] || row >= rows) return {-1, 0, 0, row};
    int e = active[blockIdx.y];
    return {e, expertStart[e], expertStart[e + 1], row};
}

// All routed experts of a step in one launch: block (row group, i) serves the i-th expert with
// tokens (blocks past their count return at once). For each slot s of expert e,
// h[s, r] = silu(gate_e[r] · x[token(s)]) · (up_e[r] · x[token(s)]). gate/up are tables of each
// expert's [inter, dim] matrix.
extern "C" __global__ void experts_gate_up(const unsigned long long* __restrict__ gate, const unsigned long long* __restrict__ up,
                                           const float* __restrict__ x, const int* __restrict__ expertStart,
                                           const int* __restrict__ active, const int* __restrict__ slotToken,
                                           float* __restrict__ h, int inter, int dim, int experts) {
    ExpertJob job = expert_job(expertStart, active, experts, (blockIdx.x * blockDim.x + threadIdx.x) >> 5, inter);
    if (job.expert < 0) return;
    const __nv_bfloat16* g = expert_matrix(gate, job.expert) + (size_t)job.row * dim;
    const __nv_bfloat16* u = expert_matrix(up, job.expert) + (size_t)job.row * dim;
    int lane = threadIdx.x & 31;
    for (int sb = job.start; sb < job.end; sb += MAX_TOKENS) {
        int count = min(MAX_TOKENS, job.end - sb);
        float ag[MAX_TOKENS], au[MAX_TOKENS];
#pragma unroll
        for (int t = 0; t < MAX_TOKENS; t++) ag[t] = au[t] = 0.f;
        for (int c = lane; c < dim; c += 32) {
            float gw = __bfloat162float(g[c]), uw = __bfloat162float(u[c]);
#pragma unroll
            for (int t = 0; t < MAX_TOKENS; t++) {
                if (t < count) {
                    float xv = x[(size_t)slotToken[sb + t] * dim + c];
                    ag[t] = fmaf(gw, xv, ag[t]);
                    au[t] = fmaf(uw, xv, au[t]);
                }
            }
        }
#pragma unroll
        for (int t = 0; t < MAX_TOKENS; t++) {
            if (t < count) {
                float a = warp_sum(ag[t]), b = warp_sum(au[t]);
                if (lane == 0) h[(size_t)(sb + t) * inter + job.row] = silu_times(a, b);
            }
        }
    }
}

// y[s] = down_e · h[s] for every slot of every expert with tokens: block (row group, i) serves the
// i-th such expert, one warp per row; down is a table of each expert's [dim, inter] matrix.
extern "C" __global__ void experts_down(const unsigned long long* __restrict__ down, const float* __restrict__ h,
                                        const int* __restrict__ expertStart, const int* __restrict__ active,
                                        float* __restrict__ y, int dim, int inter, int experts) {
    ExpertJob job = expert_job(expertStart, active, experts, (blockIdx.x * blockDim.x + threadIdx.x) >> 5, dim);
    if (job.expert < 0) return;
    const __nv_bfloat16* w = expert_matrix(down, job.expert) + (size_t)job.row * inter;
    for (int sb = job.start; sb < job.end; sb += MAX_TOKENS) {
        int count = min(MAX_TOKENS, job.end - sb);
        float acc[MAX_TOKENS];
#pragma unroll
        for (int t = 0; t < MAX_TOKENS; t++) acc[t] = 0.f;
        warp_row_dots(w, h + (size_t)sb * inter, inter, inter, count, acc);
        if ((threadIdx.x & 31) == 0) {
#pragma unroll
            for (int t = 0; t < MAX_TOKENS; t++) {
                if (t < count) y[(size_t)(sb + t) * dim + job.row] = acc[t];
            }
        }
    }
}

// Block-quantized weights: a row of cols weights is cols / 32 groups of 32 (a Q8_0 block, or a 32-weight
// sub-block of a Q4_K / Q6_K super-block) in row_bytes(cols) bytes. A lane dequantizes whole groups into
// registers with the reference's unfused fp32 operations (QuantizedBlocks.java), then accumulates in fp32.

// The fp32 value of an IEEE half given as its bits, exact for subnormals too.
__device__ __forceinline__ float half_bits_to_float(unsigned short h) {
    unsigned sign = (unsigned)(h & 0x8000u) << 16, exponent = (h >> 10) & 31u, mantissa = h & 0x3ffu;
    if (exponent == 0) {
        float v = (float)mantissa * 5.9604644775390625e-8f;  // mantissa · 2^-24
        return sign ? -v : v;
    }
    if (exponent == 31) return __uint_as_float(sign | 0x7f800000u | mantissa << 13);
    return __uint_as_float(sign | (exponent + 112u) << 23 | mantissa << 13);
}

// Q8_0: 34-byte blocks {f16 d, 32 int8 q}, w = q · d. A block is only 2-byte aligned, so it is read
// as 17 halves.
struct Q8_0 {
    static constexpr int GROUP_BYTES = 34;

    __device__ static size_t row_bytes(int cols) { return (size_t)(cols / 32) * GROUP_BYTES; }

    // Weights [32g, 32g + 32) of the row at `row`.
    __device__ static void group(const unsigned char* __restrict__ row, int g, float* w) {
        const unsigned short* block = reinterpret_cast<const unsigned short*>(row + (size_t)g * GROUP_BYTES);
        float d = half_bits_to_float(block[0]);
#pragma unroll
        for (int i = 0; i < 16; i++) {
            unsigned short pair = block[1 + i];
            w[2 * i] = (float)(signed char)(pair & 0xff) * d;
            w[2 * i + 1] = (float)(signed char)(pair >> 8) * d;
        }
    }
};

// Q4_K: 144-byte super-blocks of 256 weights {f16 d, f16 dmin, 12 bytes of 6-bit scales and mins,
// 128 bytes of nibbles}; group g is sub-block j = g % 8 of super-block g / 8, whose weights are
// (d · scale_j) · q - dmin · min_j with q the low (j even) or high (j odd) nibbles of the 32 bytes
// at 16 + 32·(j / 2). Super-blocks are 16-byte aligned (rows are whole super-blocks).
struct Q4_K {
    __device__ static size_t row_bytes(int cols) { return (size_t)(cols / 256) * 144; }

    __device__ static void group(const unsigned char* __restrict__ row, int g, float* w) {
        const unsigned char* block = row + (size_t)(g >> 3) * 144;
        const unsigned short* halves = reinterpret_cast<const unsigned short*>(block);
        const unsigned char* packed = block + 4;
        int j = g & 7, scale6, min6;
        if (j < 4) {  // ggml's get_scale_min_k4
            scale6 = packed[j] & 63;
            min6 = packed[j + 4] & 63;
        } else {
            scale6 = (packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4);
            min6 = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
        }
        float scale = __fmul_rn(half_bits_to_float(halves[0]), (float)scale6);
        float offset = __fmul_rn(half_bits_to_float(halves[1]), (float)min6);
        const uint4* nibbles = reinterpret_cast<const uint4*>(block + 16 + 32 * (j >> 1));
        int shift = 4 * (j & 1);
#pragma unroll
        for (int v = 0; v < 2; v++) {
            uint4 p = nibbles[v];
            unsigned words[4] = {p.x, p.y, p.z, p.w};
#pragma unroll
            for (int k = 0; k < 16; k++) {
                unsigned q = (words[k >> 2] >> (8 * (k & 3) + shift)) & 0xFu;
                w[16 * v + k] = __fsub_rn(__fmul_rn(scale, (float)q), offset);
            }
        }
    }
};

// Q6_K: 210-byte super-blocks of 256 weights {128 bytes of low nibbles ql, 64 bytes of high 2-bit
// pairs qh, 16 int8 scales, f16 d}; group g is weights [32j, 32j + 32) of super-block g / 8, j = g % 8,
// in half h = j / 4 as part p = j % 4: weight k takes nibble p / 2 of ql[64h + 32·(p % 2) + k] and bits
// 2p of qh[32h + k], offset by 32, times d · scales[8h + 2p + k / 16]. Super-blocks are only 2-byte
// aligned, so they are read a byte at a time.
struct Q6_K {
    __device__ static size_t row_bytes(int cols) { return (size_t)(cols / 256) * 210; }

    __device__ static void group(const unsigned char* __restrict__ row, int g, float* w) {
        const unsigned char* block = row + (size_t)(g >> 3) * 210;
        int j = g & 7, h = j >> 2, part = j & 3;
        float d = half_bits_to_float((unsigned short)(block[208] | block[209] << 8));
        float scale0 = __fmul_rn(d, (float)(signed char)block[192 + 8 * h + 2 * part]);
        float scale1 = __fmul_rn(d, (float)(signed char)block[192 + 8 * h + 2 * part + 1]);
        const unsigned char* low = block + 64 * h + 32 * (part & 1);
        const unsigned char* high = block + 128 + 32 * h;
        int lowShift = 4 * (part >> 1), highShift = 2 * part;
#pragma unroll
        for (int k = 0; k < 32; k++) {
            int q = ((low[k] >> lowShift) & 0xF) | ((high[k] >> highShift) & 3) << 4;
            w[k] = __fmul_rn(k < 16 ? scale0 : scale1, (float)(q - 32));
        }
    }
};

// warp_row_dots over a row of blocks: acc[t] += W[row] · x[t] for t < tokens, one warp per row;
// x rows are `ldx` floats apart (a multiple of 4, as cols is of 32).
template <class Blocks>
__device__ __forceinline__ void warp_row_dots_blocks(const unsigned char* __restrict__ w, const float* __restrict__ x, int ldx,
                                                     int cols, int tokens, float* acc) {
    int lane = threadIdx.x & 31;
    for (int g = lane; g < cols / 32; g += 32) {
        float wg[32];
        Blocks::group(w, g, wg);
#pragma unroll
        for (int t = 0; t < MAX_TOKENS; t++) {
            if (t < tokens) {
                const float4* xv = reinterpret_cast<const float4*>(x + (size_t)t * ldx + 32 * g);
                float s = acc[t];
#pragma unroll
                for (int i = 0; i < 8; i++) {
                    float4 a = xv[i];
                    s = fmaf(wg[4 * i], a.x, s); s = fmaf(wg[4 * i + 1], a.y, s);
                    s = fmaf(wg[4 * i + 2], a.z, s); s = fmaf(wg[4 * i + 3], a.w, s);
                }
                acc[t] = s;
            }
        }
    }
#pragma unroll
    for (int t = 0; t < MAX_TOKENS; t++) {
        if (t < tokens) acc[t] = warp_sum(acc[t]);
    }
}

// embed_rows over a table of blocks.
template <class Blocks>
__device__ void embed_rows_blocks(const unsigned char* __restrict__ table, const int* __restrict__ ids, float* __restrict__ out,
                                  int dim) {
    const unsigned char* row = table + (size_t)ids[blockIdx.x] * Blocks::row_bytes(dim);
    for (int g = threadIdx.x; g < dim / 32; g += blockDim.x) {
        float w[32];
        Blocks::group(row, g, w);
        for (int i = 0; i < 32; i++) out[(size_t)blockIdx.x * dim + 32 * g + i] = w[i];
    }
}

// linear_small over a matrix of blocks, for any number of tokens: each warp's row is read once per
// MAX_TOKENS tokens (there is no tensor-core path for blocks).
template <class Blocks>
__device__ void linear_blocks(const unsigned char* __restrict__ W, const float* __restrict__ x, const float* __restrict__ bias,
                              float* __restrict__ y, int rows, int cols, int tokens, int ldy) {
    int row = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    if (row >= rows) return;
    const unsigned char* w = W + (size_t)row * Blocks::row_bytes(cols);
    for (int t0 = 0; t0 < tokens; t0 += MAX_TOKENS) {
        int count = min(MAX_TOKENS, tokens - t0);
        float acc[MAX_TOKENS];
#pragma unroll
        for (int t = 0; t < MAX_TOKENS; t++) acc[t] = 0.f;
        warp_row_dots_blocks<Blocks>(w, x + (size_t)t0 * cols, cols, cols, count, acc);
        if ((threadIdx.x & 31) == 0) {
            float b = bias ? bias[row] : 0.f;
#pragma unroll
            for (int t = 0; t < MAX_TOKENS; t++) {
                if (t < count) y[(size_t)(t0 + t) * ldy + row] = acc[t] + b;
            }
        }
    }
}

// experts_gate_up over tables of block matrices.
template <class Blocks>
__device__ void experts_gate_up_blocks(const unsigned long long* __restrict__ gate, const unsigned long long* __restrict__ up,
                                       const float* __restrict__ x, const int* __restrict__ expertStart, const int* __restrict__ active,
                                       const int* __restrict__ slotToken, float* __restrict__ h, int inter, int dim, int experts) {
    ExpertJob job = expert_job(expertStart, active, experts, (blockIdx.x * blockDim.x + threadIdx.x) >> 5, inter);
    if (job.expert < 0) return;
    size_t rowBytes = Blocks::row_bytes(dim);
    const unsigned char* g = reinterpret_cast<const unsigned char*>(gate[job.expert]) + job.row * rowBytes;
    const unsigned char* u = reinterpret_cast<const unsigned char*>(up[job.expert]) + job.row * rowBytes;
    int lane = threadIdx.x & 31;
    for (int sb = job.start; sb < job.end; sb += MAX_TOKENS) {
        int count = min(MAX_TOKENS, job.end - sb);
        float ag[MAX_TOKENS], au[MAX_TOKENS];
#pragma unroll
        for (int t = 0; t < MAX_TOKENS; t++) ag[t] = au[t] = 0.f;
        for (int grp = lane; grp < dim / 32; grp += 32) {
            float gw[32], uw[32];
            Blocks::group(g, grp, gw);
            Blocks::group(u, grp, uw);
#pragma unroll
            for (int t = 0; t < MAX_TOKENS; t++) {
                if (t < count) {
                    const float* xr = x + (size_t)slotToken[sb + t] * dim + 32 * grp;
                    for (int i = 0; i < 32; i++) {
                        float xv = xr[i];
                        ag[t] = fmaf(gw[i], xv, ag[t]);
                        au[t] = fmaf(uw[i], xv, au[t]);
                    }
                }
            }
        }
#pragma unroll
        for (int t = 0; t < MAX_TOKENS; t++) {
            if (t < count) {
                float a = warp_sum(ag[t]), b = warp_sum(au[t]);
                if (lane == 0) h[(size_t)(sb + t) * inter + job.row] = silu_times(a, b);
            }
        }
    }
}

// experts_down over a table of block matrices.
template <class Blocks>
__device__ void experts_down_blocks(const unsigned long long* __restrict__ down, const float* __restrict__ h,
                                    const int* __restrict__ expertStart, const int* __restrict__ active, float* __restrict__ y, int dim,
                                    int inter, int experts) {
    ExpertJob job = expert_job(expertStart, active, experts, (blockIdx.x * blockDim.x + threadIdx.x) >> 5, dim);
    if (job.expert < 0) return;
    const unsigned char* w = reinterpret_cast<const unsigned char*>(down[job.expert]) + job.row * Blocks::row_bytes(inter);
    for (int sb = job.start; sb < job.end; sb += MAX_TOKENS) {
        int count = min(MAX_TOKENS, job.end - sb);
        float acc[MAX_TOKENS];
#pragma unroll
        for (int t = 0; t < MAX_TOKENS; t++) acc[t] = 0.f;
        warp_row_dots_blocks<Blocks>(w, h + (size_t)sb * inter, inter, inter, count, acc);
        if ((threadIdx.x & 31) == 0) {
#pragma unroll
            for (int t = 0; t < MAX_TOKENS; t++) {
                if (t < count) y[(size_t)(sb + t) * dim + job.row] = acc[t];
            }
        }
    }
}

// The block kernels for each type: same arguments and output layout as their BF16 counterparts.
extern "C" __global__ void embed_rows_q8_0(const unsigned char* __restrict__ table, const int* __restrict__ ids,
                                      float* __restrict__ out, int dim) {
    embed_rows_blocks<Q8_0>(table, ids, out, dim);
}

extern "C" __global__ void linear_q8_0(const unsigned char* __restrict__ W, const float* __restrict__ x,
                                   const float* __restrict__ bias, float* __restrict__ y, int rows, int cols, int tokens, int ldy) {
    linear_blocks<Q8_0>(W, x, bias, y, rows, cols, tokens, ldy);
}

extern "C" __global__ void experts_gate_up_q8_0(const unsigned long long* __restrict__ gate,
                                            const unsigned long long* __restrict__ up, const float* __restrict__ x,
                                            const int* __restrict__ expertStart, const int* __restrict__ active,
                                            const int* __restrict__ slotToken, float* __restrict__ h, int inter, int dim,
                                            int experts) {
    experts_gate_up_blocks<Q8_0>(gate, up, x, expertStart, active, slotToken, h, inter, dim, experts);
}

extern "C" __global__ void experts_down_q8_0(const unsigned long long* __restrict__ down, const float* __restrict__ h,
                                         const int* __restrict__ expertStart, const int* __restrict__ active,
                                         float* __restrict__ y, int dim, int inter, int experts) {
    experts_down_blocks<Q8_0>(down, h, expertStart, active, y, dim, inter, experts);
}

extern "C" __global__ void embed_rows_q4_k(const unsigned char* __restrict__ table, const int* __restrict__ ids,
                                      float* __restrict__ out, int dim) {
    embed_rows_blocks<Q4_K>(table, ids, out, dim);
}

extern "C" __global__ void linear_q4_k(const unsigned char* __restrict__ W, const float* __restrict__ x,
                                   const float* __restrict__ bias, float* __restrict__ y, int rows, int cols, int tokens, int ldy) {
    linear_blocks<Q4_K>(W, x, bias, y, rows, cols, tokens, ldy);
}

extern "C" __global__ void experts_gate_up_q4_k(const unsigned long long* __restrict__ gate,
                                            const unsigned long long* __restrict__ up, const float* __restrict__ x,
                                            const int* __restrict__ expertStart, const int* __restrict__ active,
                                            const int* __restrict__ slotToken, float* __restrict__ h, int inter, int dim,
                                            int experts) {
    experts_gate_up_blocks<Q4_K>(gate, up, x, expertStart, active, slotToken, h, inter, dim, experts);
}

extern "C" __global__ void experts_down_q4_k(const unsigned long long* __restrict__ down, const float* __restrict__ h,
                                         const int* __restrict__ expertStart, const int* __restrict__ active,
                                         float* __restrict__ y, int dim, int inter, int experts) {
    experts_down_blocks<Q4_K>(down, h, expertStart, active, y, dim, inter, experts);
}

extern "C" __global__ void embed_rows_q6_k(const unsigned char* __restrict__ table, const int* __restrict__ ids,
                                      float* __restrict__ out, int dim) {
    embed_rows_blocks<Q6_K>(table, ids, out, dim);
}

extern "C" __global__ void linear_q6_k(const unsigned char* __restrict__ W, const float* __restrict__ x,
                                   const float* __restrict__ bias, float* __restrict__ y, int rows, int cols, int tokens, int ldy) {
    linear_blocks<Q6_K>(W, x, bias, y, rows, cols, tokens, ldy);
}

extern "C" __global__ void experts_gate_up_q6_k(const unsigned long long* __restrict__ gate,
                                            const unsigned long long* __restrict__ up, const float* __restrict__ x,
                                            const int* __restrict__ expertStart, const int* __restrict__ active,
                                            const int* __restrict__ slotToken, float* __restrict__ h, int inter, int dim,
                                            int experts) {
    experts_gate_up_blocks<Q6_K>(gate, up, x, expertStart, active, slotToken, h, inter, dim, experts);
}

extern "C" __global__ void experts_down_q6_k(const unsigned long long* __restrict__ down, const float* __restrict__ h,
                                         const int* __restrict__ expertStart, const int* __restrict__ active,
                                         float* __restrict__ y, int dim, int inter, int experts) {
    experts_down_blocks<Q6_K>(down, h, expertStart, active, y, dim, inter, experts);
}

// Rows of x gathered into slot order (row s = x[slotToken[s]]) and split into three BF16 parts as
// in split_bf16, for the tensor-core expert products; slots [slots, padded) are zero.
extern "C" __global__ void gather_split_bf16(const float* __restrict__ x, const int* __restrict__ slotToken,
                                             __nv_bfloat16* __restrict__ hi, __nv_bfloat16* __restrict__ mid,
                                             __nv_bfloat16* __restrict__ lo, int slots, int padded, int dim) {
    int s = blockIdx.x;
    if (s >= padded) return;
    const float* row = s < slots ? x + (size_t)slotToken[s] * dim : nullptr;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        split_three(row ? row[c] : 0.f, hi, mid, lo, (size_t)s * dim + c);
    }
}

// experts_gate_up on the tensor cores, for many tokens: block (row group of 64, i) serves the i-th
// expert with tokens; each warp takes 16 rows of gate and up and walks the expert's slots 64 at a
// time, so h[s, r] = silu(gate_e[r] · x[token(s)]) · (up_e[r] · x[token(s)]) as there. Needs inter
// and dim multiples of 16; the gathered parts hold 16 zero slots past the last.
extern "C" __global__ void experts_gate_up_tc(const unsigned long long* __restrict__ gate, const unsigned long long* __restrict__ up,
                                              const __nv_bfloat16* __restrict__ hi, const __nv_bfloat16* __restrict__ mid,
                                              const __nv_bfloat16* __restrict__ lo, const int* __restrict__ expertStart,
                                              const int* __restrict__ active, float* __restrict__ h, int inter, int dim,
                                              int experts) {
    __shared__ __align__(128) float gateTile[4][16 * 16];
    __shared__ __align__(128) float upTile[4][16 * 16];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    ExpertJob job = expert_job(expertStart, active, experts, (blockIdx.x * 4 + warp) * 16, inter);
    if (job.expert < 0) return;
    const __nv_bfloat16* g = expert_matrix(gate, job.expert) + (size_t)job.row * dim;
    const __nv_bfloat16* u = expert_matrix(up, job.expert) + (size_t)job.row * dim;
    for (int sb = job.start; sb < job.end; sb += 64) {
        int groups = min(4, (job.end - sb + 15) / 16);
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> accGate[4], accUp[4];
#pragma unroll
        for (int j = 0; j < 4; j++) {
            wmma::fill_fragment(accGate[j], 0.f);
            wmma::fill_fragment(accUp[j], 0.f);
        }
        tc_rows_by_slots(g, dim, hi, mid, lo, sb, groups, accGate);
        tc_rows_by_slots(u, dim, hi, mid, lo, sb, groups, accUp);
        for (int j = 0; j < groups; j++) {
            wmma::store_matrix_sync(gateTile[warp], accGate[j], 16, wmma::mem_col_major);
            wmma::store_matrix_sync(upTile[warp], accUp[j], 16, wmma::mem_col_major);
            __syncwarp();
            for (int i = lane; i < 256; i += 32) {
                int m = i % 16, s = sb + 16 * j + i / 16;
                if (s < job.end) h[(size_t)s * inter + job.row + m] = silu_times(gateTile[warp][i], upTile[warp][i]);
            }
            __syncwarp();
        }
    }
}

// experts_down on the tensor cores: y[s] = down_e · h[s] with h given as three BF16 parts (split_bf16
// over the slot-ordered h, 16 zero slots past the last); layout as experts_gate_up_tc.
extern "C" __global__ void experts_down_tc(const unsigned long long* __restrict__ down, const __nv_bfloat16* __restrict__ hi,
                                           const __nv_bfloat16* __restrict__ mid, const __nv_bfloat16* __restrict__ lo,
                                           const int* __restrict__ expertStart, const int* __restrict__ active,
                                           float* __restrict__ y, int dim, int inter, int experts) {
    __shared__ __align__(128) float tile[4][16 * 16];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    ExpertJob job = expert_job(expertStart, active, experts, (blockIdx.x * 4 + warp) * 16, dim);
    if (job.expert < 0) return;
    const __nv_bfloat16* w = expert_matrix(down, job.expert) + (size_t)job.row * inter;
    for (int sb = job.start; sb < job.end; sb += 64) {
        int groups = min(4, (job.end - sb + 15) / 16);
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[4];
#pragma unroll
        for (int j = 0; j < 4; j++) wmma::fill_fragment(acc[j], 0.f);
        tc_rows_by_slots(w, inter, hi, mid, lo, sb, groups, acc);
        for (int j = 0; j < groups; j++) {
            wmma::store_matrix_sync(tile[warp], acc[j], 16, wmma::mem_col_major);
            __syncwarp();
            for (int i = lane; i < 256; i += 32) {
                int m = i % 16, s = sb + 16 * j + i / 16;
                if (s < job.end) y[(size_t)s * dim + job.row + m] = tile[warp][i];
            }
            __syncwarp();
        }
    }
}

// x[t] += Σ over t's experts in ascending id of w · y[slot] (+ shared[t] when given), as the CPU
// path adds them; choices below 0 (served elsewhere) are skipped. One block per token; k ≤ 32.
extern "C" __global__ void moe_combine(const float* __restrict__ y, const int* __restrict__ tokenSlot,
                                       const int* __restrict__ chosen, const float* __restrict__ weights,
                                       const float* __restrict__ shared, float* __restrict__ x, int k, int dim) {
    int t = blockIdx.x;
    int order[32];
    for (int j = 0; j < k; j++) order[j] = j;
    for (int a = 1; a < k; a++) {
        int v = order[a], b = a;
        while (b > 0 && chosen[t * k + order[b - 1]] > chosen[t * k + v]) {
            order[b] = order[b - 1];
            b--;
        }
        order[b] = v;
    }
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        float acc = 0.f;
        for (int i = 0; i < k; i++) {
            int j = order[i];
            if (chosen[t * k + j] < 0) continue;
            acc = __fadd_rn(acc, __fmul_rn(y[(size_t)tokenSlot[t * k + j] * dim + c], weights[t * k + j]));
        }
        if (shared) acc = __fadd_rn(acc, shared[(size_t)t * dim + c]);
        x[(size_t)t * dim + c] = __fadd_rn(x[(size_t)t * dim + c], acc);
    }
}

// gate[i] = silu(gate[i]) · up[i].
extern "C" __global__ void swiglu(float* __restrict__ gate, const float* __restrict__ up, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) gate[i] = silu_times(gate[i], up[i]);
}

// x[i] += y[i].
extern "C" __global__ void add_in_place(float* __restrict__ x, const float* __restrict__ y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = __fadd_rn(x[i], y[i]);
}

// Deterministic pseudo-random BF16 weights in [-scale, scale) (splitmix64 of seed + index), for
// benchmarks on the real shape without a checkpoint on disk.
extern "C" __global__ void fill_random_bf16(__nv_bfloat16* __restrict__ w, size_t n, unsigned long long seed, float scale) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        unsigned long long z = seed + 0x9E3779B97F4A7C15ull * (i + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        float u = (float)(z >> 40) * (1.f / 16777216.f);
        w[i] = __float2bfloat16((2.f * u - 1.f) * scale);
    }
}
