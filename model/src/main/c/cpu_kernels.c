/*
 * The CPU backend's hottest kernels for x86-64 CPUs with AVX-512, called through the FFM API by
 * NativeKernels (the backend picks them at run time: CpuKernels):
 *
 * - em_quantized_rows: decode products of GGML block-quantized weights (Q8_0, Q4_0, Q4_K, Q6_K) with
 *   fp32 activations, the twin of QuantizedMath's streaming kernels. Same algebra (a block's scale is
 *   applied once to its partial sum, Q4_K's minima meet the activation sums of their sub-blocks), so
 *   a product differs from the Java one only in the rounding of fp32 sums. Why native: Java cannot
 *   prefetch, and a thread streaming rows at the rate these kernels consume them gets only half the
 *   bandwidth it gets with software prefetches a few KiB ahead (one thread, Q4_K rows from memory, a
 *   throwaway C harness on the Xeon machine: 3.1 vs 6.3 GB/s); and C2's loops carry segment bounds
 *   checks and address arithmetic that these do not.
 * - em_dequantize_rows and em_tile_rows, for prefill: quantized weight rows dequantized into a tile
 *   (WeightMatrix.readRow's values bit for bit), and the product over a tile of rows widened to fp32,
 *   VectorMath.tileRows for 16 lanes bit for bit (same fused multiply-adds in the same order, same
 *   fold), without the bounds checks of the Java loops.
 * - em_causal_attention: VectorMath.causalAttention for 16 lanes bit for bit, over positions in
 *   blocks that stay in L1.
 *
 * The file is compiled without -m flags (and with -ffp-contract=off, so that no a * b + c of the
 * scalar code is fused behind the Java order's back): only the kernels carry target attributes, and
 * em_cpu_supported() says (from CPUID) whether they may be called.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define KERNEL __attribute__((target("avx512f,avx512bw,avx512vl,f16c,fma")))

/*
 * Bytes ahead of the current block at which the next cache lines are requested, into L2 (T1): with
 * two threads streaming Q4_K rows from memory, 2 KiB into L2 read 10 GB/s against 9 into L1 (T0)
 * and 7 non-temporal; 1 KiB was slower, 3 to 8 KiB no faster (a throwaway two-thread harness).
 */
#define PREFETCH_AHEAD 2048

enum { EM_Q8_0 = 0, EM_Q4_0 = 1, EM_Q4_K = 2, EM_Q6_K = 3 };

int em_cpu_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma");
}

KERNEL static inline float half_to_float(const uint8_t* p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

KERNEL static inline void prefetch(const uint8_t* p, int lines) {
    for (int i = 0; i < lines; i++) _mm_prefetch((const char*) p + PREFETCH_AHEAD + 64 * i, _MM_HINT_T1);
}

/* Sixteen bytes, zero-extended to 32-bit lanes. */
KERNEL static inline __m512i unsigned_bytes(const uint8_t* p) {
    return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i*) p));
}

/* Q8_0: w = d·q, 32 signed quants after an fp16 scale. */
KERNEL static float q8_0_dot(const uint8_t* w, int blocks, const float* x) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    for (int b = 0; b < blocks; b++, w += 34, x += 32) {
        if ((b & 1) == 0) prefetch(w, 2);
        __m512 lo = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*) (w + 2)))), _mm512_loadu_ps(x));
        __m512 t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*) (w + 18)))),
                _mm512_loadu_ps(x + 16), lo);
        __m512 d = _mm512_set1_ps(half_to_float(w));
        if ((b & 1) == 0) a0 = _mm512_fmadd_ps(t, d, a0);
        else a1 = _mm512_fmadd_ps(t, d, a1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

/* Q4_0: w = d·(nibble - 8); the 16 low nibbles are weights 0..15 and the high ones 16..31. */
KERNEL static float q4_0_dot(const uint8_t* w, int blocks, const float* x) {
    const __m512i low = _mm512_set1_epi32(0xF), eight = _mm512_set1_epi32(8);
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    for (int b = 0; b < blocks; b++, w += 18, x += 32) {
        if ((b & 3) == 0) prefetch(w, 2);
        __m512i q = unsigned_bytes(w + 2);
        __m512 t = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_and_si512(q, low), eight)), _mm512_loadu_ps(x));
        t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(q, 4), eight)), _mm512_loadu_ps(x + 16), t);
        __m512 d = _mm512_set1_ps(half_to_float(w));
        if ((b & 1) == 0) a0 = _mm512_fmadd_ps(t, d, a0);
        else a1 = _mm512_fmadd_ps(t, d, a1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

/*
 * Q4_K: w = (d·scale)·nibble - dmin·min per sub-block of 32, computed as Σ (d·scale)·(Σ nibble·x)
 * - Σ (dmin·min)·(Σ x); sums[j] is Σ x over sub-block j. Sub-blocks 2p and 2p+1 share 32 quant
 * bytes (low and high nibbles). The 6-bit scales and minima are unpacked from three words
 * (llama.cpp's get_scale_min_k4) and scaled eight at a time. A nibble becomes a float by a table
 * lookup: vpermps reads only the low four bits of each index lane, so the low nibble needs no mask.
 */
KERNEL static float q4_K_dot(const uint8_t* w, int blocks, const float* x, const float* sums) {
    const __m512 nibble = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m256 minima = _mm256_setzero_ps();
    float scale[8];
    for (int b = 0; b < blocks; b++, w += 144, x += 256, sums += 8) {
        prefetch(w, 3);
        uint32_t packed[3], unpacked[4];
        memcpy(packed, w + 4, 12);
        unpacked[0] = packed[0] & 0x3F3F3F3F;
        unpacked[1] = (packed[2] & 0x0F0F0F0F) | ((packed[0] >> 6 & 0x03030303) << 4);
        unpacked[2] = packed[1] & 0x3F3F3F3F;
        unpacked[3] = (packed[2] >> 4 & 0x0F0F0F0F) | ((packed[1] >> 6 & 0x03030303) << 4);
        __m256 scales = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*) unpacked)));
        __m256 mins = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*) (unpacked + 2))));
        _mm256_storeu_ps(scale, _mm256_mul_ps(scales, _mm256_set1_ps(half_to_float(w))));
        minima = _mm256_fmadd_ps(_mm256_mul_ps(mins, _mm256_set1_ps(half_to_float(w + 2))), _mm256_loadu_ps(sums), minima);
        const uint8_t* q = w + 16;
        for (int p = 0; p < 4; p++, q += 32) {
            const float* xp = x + 64 * p;
            __m512i v0 = unsigned_bytes(q), v1 = unsigned_bytes(q + 16);
            __m512 lo = _mm512_mul_ps(_mm512_permutexvar_ps(v0, nibble), _mm512_loadu_ps(xp));
            lo = _mm512_fmadd_ps(_mm512_permutexvar_ps(v1, nibble), _mm512_loadu_ps(xp + 16), lo);
            __m512 hi = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v0, 4), nibble), _mm512_loadu_ps(xp + 32));
            hi = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v1, 4), nibble), _mm512_loadu_ps(xp + 48), hi);
            a0 = _mm512_fmadd_ps(lo, _mm512_set1_ps(scale[2 * p]), a0);
            a1 = _mm512_fmadd_ps(hi, _mm512_set1_ps(scale[2 * p + 1]), a1);
        }
    }
    __m256 m = _mm256_add_ps(minima, _mm256_permute2f128_ps(minima, minima, 1));
    m = _mm256_add_ps(m, _mm256_permute_ps(m, 0x4E));
    m = _mm256_add_ps(m, _mm256_permute_ps(m, 0xB1));
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1)) - _mm256_cvtss_f32(m);
}

/*
 * Q6_K: w = (d·scale)·(q - 32), a signed scale per 16 weights. Half h of a super-block keeps its low
 * nibbles in ql[64h..64h+64) and its high bits in qh[32h..32h+32): weight 128h + 32·part + k takes
 * nibble part/2 of ql[64h + 32·(part%2) + k] and bits 2·part of qh[32h + k]. The quants of half h
 * are assembled as bytes minus 32, 32 to a 256-bit operation, into q[part][k], and widened from there.
 */
KERNEL static inline void q6_K_quants(const uint8_t* w, int h, int8_t q[4][32]) {
    const __m256i low = _mm256_set1_epi8(0xF), top = _mm256_set1_epi8(0x30), offset = _mm256_set1_epi8(32);
    __m256i qa = _mm256_loadu_si256((const __m256i*) (w + 64 * h)), qb = _mm256_loadu_si256((const __m256i*) (w + 64 * h + 32));
    __m256i qh = _mm256_loadu_si256((const __m256i*) (w + 128 + 32 * h));
    _mm256_storeu_si256((__m256i*) q[0], _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(qa, low), _mm256_and_si256(_mm256_slli_epi16(qh, 4), top)), offset));
    _mm256_storeu_si256((__m256i*) q[1], _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(qb, low), _mm256_and_si256(_mm256_slli_epi16(qh, 2), top)), offset));
    _mm256_storeu_si256((__m256i*) q[2], _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qa, 4), low), _mm256_and_si256(qh, top)), offset));
    _mm256_storeu_si256((__m256i*) q[3], _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), low), _mm256_and_si256(_mm256_srli_epi16(qh, 2), top)), offset));
}

/* Sixteen signed bytes as floats. */
KERNEL static inline __m512 signed_bytes_as_floats(const int8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*) p)));
}

KERNEL static float q6_K_dot(const uint8_t* w, int blocks, const float* x) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int8_t q[4][32];
    for (int b = 0; b < blocks; b++, w += 210, x += 256) {
        prefetch(w, 4);
        float d = half_to_float(w + 208);
        const int8_t* scales = (const int8_t*) (w + 192);
        for (int h = 0; h < 2; h++) {
            q6_K_quants(w, h, q);
            const float* xp = x + 128 * h;
            const int8_t* sc = scales + 8 * h;
            for (int part = 0; part < 4; part++) {
                __m512 t0 = _mm512_mul_ps(signed_bytes_as_floats(q[part]), _mm512_loadu_ps(xp + 32 * part));
                __m512 t1 = _mm512_mul_ps(signed_bytes_as_floats(q[part] + 16), _mm512_loadu_ps(xp + 32 * part + 16));
                a0 = _mm512_fmadd_ps(t0, _mm512_set1_ps(d * sc[2 * part]), a0);
                a1 = _mm512_fmadd_ps(t1, _mm512_set1_ps(d * sc[2 * part + 1]), a1);
            }
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

/* Σ x over each run of 32 activations of a row: the sums q4_K_dot subtracts the minima with. */
KERNEL static void sub_block_sums(const float* x, int cols, float* sums) {
    for (int g = 0; g < cols / 32; g++) {
        sums[g] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_loadu_ps(x + 32 * g), _mm512_loadu_ps(x + 32 * g + 16)));
    }
}

/*
 * out[t·out_cols + r] = W[r] · x[t] for weight rows [r0, r1) and activation rows t < x_rows, each
 * weight row read once while every activation row is dotted with it. The caller (Java) has checked
 * every bound: blocks·block elements = x_cols, r1 ≤ the matrix's rows, out holds x_rows·out_cols.
 * sums: scratch of x_rows·x_cols/32 floats (Q4_K only).
 */
KERNEL void em_quantized_rows(int type, const uint8_t* w, int64_t row_bytes, int blocks, int r0, int r1, const float* x, int x_rows,
        int x_cols, float* out, int out_cols, float* sums) {
    if (type == EM_Q4_K) {
        for (int t = 0; t < x_rows; t++) sub_block_sums(x + (int64_t) t * x_cols, x_cols, sums + (int64_t) t * (x_cols / 32));
    }
    for (int r = r0; r < r1; r++) {
        const uint8_t* row = w + r * row_bytes;
        for (int t = 0; t < x_rows; t++) {
            const float* xt = x + (int64_t) t * x_cols;
            float v;
            switch (type) {
                case EM_Q8_0: v = q8_0_dot(row, blocks, xt); break;
                case EM_Q4_0: v = q4_0_dot(row, blocks, xt); break;
                case EM_Q4_K: v = q4_K_dot(row, blocks, xt, sums + (int64_t) t * (x_cols / 32)); break;
                default: v = q6_K_dot(row, blocks, xt); break;
            }
            out[(int64_t) t * out_cols + r] = v;
        }
    }
}

/*
 * Dequantization of weight rows into a prefill tile, bit for bit QuantizedBlocks (gguf-py's values:
 * fp32 rounding after every multiply and subtract, no fused operations), a vector at a time, with the
 * decode kernels' prefetch: rows from memory dequantize 25-30 % faster with it (Q4_K 0.147 -> 0.112 ns
 * per weight, Q6_K 0.193 -> 0.137; 64 expert matrices, one thread, a throwaway harness).
 */
KERNEL static void q8_0_row(const uint8_t* w, int blocks, float* y) {
    for (int b = 0; b < blocks; b++, w += 34, y += 32) {
        if ((b & 1) == 0) prefetch(w, 2);
        __m512 d = _mm512_set1_ps(half_to_float(w));
        _mm512_storeu_ps(y, _mm512_mul_ps(signed_bytes_as_floats((const int8_t*) w + 2), d));
        _mm512_storeu_ps(y + 16, _mm512_mul_ps(signed_bytes_as_floats((const int8_t*) w + 18), d));
    }
}

KERNEL static void q4_0_row(const uint8_t* w, int blocks, float* y) {
    const __m512i low = _mm512_set1_epi32(0xF), eight = _mm512_set1_epi32(8);
    for (int b = 0; b < blocks; b++, w += 18, y += 32) {
        if ((b & 3) == 0) prefetch(w, 2);
        __m512 d = _mm512_set1_ps(half_to_float(w));
        __m512i q = unsigned_bytes(w + 2);
        _mm512_storeu_ps(y, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_and_si512(q, low), eight))));
        _mm512_storeu_ps(y + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(q, 4), eight))));
    }
}

/*
 * A sub-block's 16 possible values, (d·scale)·n - dmin·min for n = 0..15, rounded as the per-weight
 * formula rounds them, and looked up by nibble (vpermps reads the low four bits of each index).
 */
KERNEL static void q4_K_row(const uint8_t* w, int blocks, float* y) {
    const __m512 nibble = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int b = 0; b < blocks; b++, w += 144, y += 256) {
        prefetch(w, 3);
        float d = half_to_float(w), dmin = half_to_float(w + 2);
        const uint8_t* s = w + 4;
        for (int j = 0; j < 8; j++) {
            int scale = j < 4 ? s[j] & 63 : (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
            int min = j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
            __m512 values = _mm512_sub_ps(_mm512_mul_ps(_mm512_set1_ps(d * (float) scale), nibble), _mm512_set1_ps(dmin * (float) min));
            const uint8_t* q = w + 16 + 32 * (j / 2);
            for (int l = 0; l < 32; l += 16) {
                __m512i v = unsigned_bytes(q + l);
                if (j % 2 == 1) v = _mm512_srli_epi32(v, 4);
                _mm512_storeu_ps(y + 32 * j + l, _mm512_permutexvar_ps(v, values));
            }
        }
    }
}

KERNEL static void q6_K_row(const uint8_t* w, int blocks, float* y) {
    int8_t q[4][32];
    for (int b = 0; b < blocks; b++, w += 210, y += 256) {
        prefetch(w, 4);
        float d = half_to_float(w + 208);
        const int8_t* scales = (const int8_t*) (w + 192);
        for (int h = 0; h < 2; h++) {
            q6_K_quants(w, h, q);
            for (int part = 0; part < 4; part++) {
                for (int l = 0; l < 32; l += 16) {
                    int e = 128 * h + 32 * part + l;
                    __m512 scale = _mm512_set1_ps(d * (float) scales[e / 16]);
                    _mm512_storeu_ps(y + e, _mm512_mul_ps(scale, signed_bytes_as_floats(q[part] + l)));
                }
            }
        }
    }
}

/*
 * Blocks [first_block, first_block + blocks) of weight rows [r0, r0 + rows) dequantized into tile rows
 * 0 .. rows-1 of blocks · block elements floats each, in their natural order: WeightMatrix.readRow's
 * values, bit for bit.
 */
KERNEL void em_dequantize_rows(int type, const uint8_t* w, int64_t row_bytes, int first_block, int blocks, int r0, int rows, float* tile) {
    int k_quants = type == EM_Q4_K || type == EM_Q6_K;
    int cols = blocks * (k_quants ? 256 : 32);
    int64_t skip = (int64_t) first_block * (type == EM_Q8_0 ? 34 : type == EM_Q4_0 ? 18 : type == EM_Q4_K ? 144 : 210);
    for (int r = 0; r < rows; r++) {
        const uint8_t* row = w + (r0 + r) * row_bytes + skip;
        float* y = tile + (int64_t) r * cols;
        switch (type) {
            case EM_Q8_0: q8_0_row(row, blocks, y); break;
            case EM_Q4_0: q4_0_row(row, blocks, y); break;
            case EM_Q4_K: q4_K_row(row, blocks, y); break;
            default: q6_K_row(row, blocks, y); break;
        }
    }
}

/*
 * Contraction elements per pass over a tile: a pass's six activation rows (24 KiB) stay in L1. Twice
 * VectorMath's K_CHUNK: fewer trips of the accumulators through memory (2-5 % faster in a throwaway
 * one-thread harness); the chunking does not change any product's order.
 */
#define TILE_K_CHUNK 1024

/*
 * acc[(T·i + j)·16 ..] += tile rows w + i·w_stride (i < R) times activation rows x + j·x_stride (j < T)
 * over len columns, one fused multiply-add per lane and 16 columns, in ascending k: VectorMath's
 * fourBySix and its smaller kin, for any R ≤ 4 and T ≤ 6 (inlined with constant R and T, the loops
 * unroll and the 24 accumulators stay in registers).
 */
KERNEL static inline __attribute__((always_inline)) void tile_block(int R, int T, const float* w, int w_stride, const float* x, int x_stride,
        int len, float* acc) {
    __m512 a[4][6];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) a[i][j] = _mm512_loadu_ps(acc + (T * i + j) * 16);
    for (int k = 0; k < len; k += 16) {
        __m512 v[4];
        for (int i = 0; i < R; i++) v[i] = _mm512_loadu_ps(w + i * w_stride + k);
        for (int j = 0; j < T; j++) {
            __m512 u = _mm512_loadu_ps(x + j * x_stride + k);
            for (int i = 0; i < R; i++) a[i][j] = _mm512_fmadd_ps(v[i], u, a[i][j]);
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) _mm512_storeu_ps(acc + (T * i + j) * 16, a[i][j]);
}

#define TILE_BLOCK_CASE(R, T) case 8 * (R) + (T): tile_block(R, T, w, w_stride, x, x_stride, len, acc); break;

KERNEL static void tile_block_any(int R, int T, const float* w, int w_stride, const float* x, int x_stride, int len, float* acc) {
    switch (8 * R + T) {
        TILE_BLOCK_CASE(4, 6) TILE_BLOCK_CASE(4, 5) TILE_BLOCK_CASE(4, 4) TILE_BLOCK_CASE(4, 3) TILE_BLOCK_CASE(4, 2) TILE_BLOCK_CASE(4, 1)
        TILE_BLOCK_CASE(3, 6) TILE_BLOCK_CASE(3, 5) TILE_BLOCK_CASE(3, 4) TILE_BLOCK_CASE(3, 3) TILE_BLOCK_CASE(3, 2) TILE_BLOCK_CASE(3, 1)
        TILE_BLOCK_CASE(2, 6) TILE_BLOCK_CASE(2, 5) TILE_BLOCK_CASE(2, 4) TILE_BLOCK_CASE(2, 3) TILE_BLOCK_CASE(2, 2) TILE_BLOCK_CASE(2, 1)
        TILE_BLOCK_CASE(1, 6) TILE_BLOCK_CASE(1, 5) TILE_BLOCK_CASE(1, 4) TILE_BLOCK_CASE(1, 3) TILE_BLOCK_CASE(1, 2) TILE_BLOCK_CASE(1, 1)
    }
}

/*
 * VectorMath.fold's tree over 16 lanes, in registers: lane i with lane i + 8, then with i + 4, then
 * (0 + 2) + (1 + 3). The same additions of the same pairs as the Java fold, so the same bits.
 */
KERNEL static inline float fold16(const float* lanes) {
    __m512 v = _mm512_loadu_ps(lanes);
    __m256 s = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    __m128 u = _mm_add_ps(t, _mm_movehl_ps(t, t));
    return _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
}

/*
 * VectorMath.tileRows for 16-lane vectors, bit for bit: out[t·out_cols + r0 + r] = weight row r ·
 * activation row t for r < tile_rows and t < n, activation rows of cols floats every x_stride floats
 * (the caller copies them to rows that start on cache lines: loads that straddle two lines made the
 * kernel 12 % slower in a throwaway one-thread harness, 92 vs 105 GFLOP/s). Every product keeps
 * the canonical order, whichever block computes it: lane l sums k ≡ l (mod 16) over [0, bound) in
 * ascending k with fused multiply-adds, the lanes fold by VectorMath.fold's tree, then the columns
 * from bound = cols - cols % 32 on are added one fused multiply-add at a time.
 *
 * The tile holds columns [k0, k0 + tile_cols) of its rows (rows of tile_cols floats), so a matrix
 * whose whole rows would leave room for only a few in L2 is walked in column blocks, one call each,
 * in ascending k0: then acc keeps every product's lanes between calls (16·n·tile_rows floats, zeroed
 * by the call with k0 = 0) and the call whose block ends at cols writes out. A tile of whole rows
 * needs only 4·ceil(tile_rows/4)·6·16 floats of acc. Blocks other than the last start and end on
 * multiples of 32 (the caller checks).
 */
KERNEL void em_tile_rows(const float* tile, int tile_rows, int tile_cols, int k0, int cols, int r0, const float* x, int x_stride, int n,
        float* out, int out_cols, float* acc) {
    int bound = cols - cols % 32;
    int whole = k0 == 0 && tile_cols == cols, last = k0 + tile_cols == cols;
    int k_end = k0 + tile_cols < bound ? k0 + tile_cols : bound;
    for (int t = 0; t < n; t += 6) {
        int T = n - t < 6 ? n - t : 6;
        const float* xt = x + (int64_t) t * x_stride;
        float* at = whole ? acc : acc + (int64_t) 16 * t * tile_rows;
        if (k0 == 0) memset(at, 0, sizeof(float) * 16 * T * (size_t) tile_rows);
        for (int kc = k0; kc < k_end; kc += TILE_K_CHUNK) {
            int len = (kc + TILE_K_CHUNK < k_end ? kc + TILE_K_CHUNK : k_end) - kc;
            for (int r = 0; r < tile_rows; r += 4) {
                int R = tile_rows - r < 4 ? tile_rows - r : 4;
                tile_block_any(R, T, tile + (int64_t) r * tile_cols + (kc - k0), tile_cols, xt + kc, x_stride, len, at + 16 * T * r);
            }
        }
        if (!last) continue;
        for (int r = 0; r < tile_rows; r++) {
            const float* w = tile + (int64_t) r * tile_cols;
            for (int j = 0; j < T; j++) {
                float s = fold16(at + 16 * (T * r + j));
                for (int k = bound; k < cols; k++) s = fmaf(w[k - k0], xt[(int64_t) j * x_stride + k], s);
                out[(int64_t) (t + j) * out_cols + r0 + r] = s;
            }
        }
    }
}

/*
 * Attention, VectorMath.causalAttention bit for bit: the same fused multiply-adds in the same order for
 * the dot products (VectorMath.dot: lanes over the head dimension, fold16, the tail one at a time) and
 * the weighted values (one per position, in position order), and VectorMath.softmax's operations.
 */
static const float EXP_HI = 88.3762626647949f, EXP_LO = -87.3f, LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f,
        LN2_LO = -2.12194440e-4f, ROUND = 12582912.0f;
static const float EXP_POLY[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f,
        5.0000001201e-1f};

/* VectorMath.exp(FloatVector): min (minps returns its second operand, x, when either is NaN, as Java's min does), a degree-5 polynomial, 2^k. */
KERNEL static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_set1_ps(EXP_HI), x);
    __mmask16 underflow = _mm512_cmp_ps_mask(x, _mm512_set1_ps(EXP_LO), _CMP_LT_OQ);
    __m512 k = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(LOG2E)), _mm512_set1_ps(ROUND)), _mm512_set1_ps(ROUND));
    __m512 r = _mm512_fmadd_ps(k, _mm512_set1_ps(-LN2_HI), x);
    r = _mm512_fmadd_ps(k, _mm512_set1_ps(-LN2_LO), r);
    __m512 p = _mm512_set1_ps(EXP_POLY[0]);
    for (int i = 1; i < 6; i++) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_POLY[i]));
    __m512 y = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i scale = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(k), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mov_ps(~underflow, _mm512_mul_ps(y, _mm512_castsi512_ps(scale)));
}

/* Math.max: NaN wins, +0 is greater than -0. */
static inline float java_max(float a, float b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == 0.0f && b == 0.0f) return signbit(a) ? b : a;
    return a >= b ? a : b;
}

/* The canonical dot products of q with keys p .. p+3 (dims floats each, one after another). */
KERNEL static inline void dot4_canonical(const float* q, const float* keys, int dims, float* out) {
    int bound = dims - dims % 16;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int k = 0; k < bound; k += 16) {
        __m512 u = _mm512_loadu_ps(q + k);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(keys + k), u, a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(keys + dims + k), u, a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(keys + 2 * dims + k), u, a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(keys + 3 * dims + k), u, a3);
    }
    float lanes[4][16];
    _mm512_storeu_ps(lanes[0], a0);
    _mm512_storeu_ps(lanes[1], a1);
    _mm512_storeu_ps(lanes[2], a2);
    _mm512_storeu_ps(lanes[3], a3);
    for (int j = 0; j < 4; j++) {
        float s = fold16(lanes[j]);
        for (int k = bound; k < dims; k++) s = fmaf(q[k], keys[j * dims + k], s);
        out[j] = s;
    }
}

KERNEL static inline float dot_canonical(const float* q, const float* key, int dims) {
    int bound = dims - dims % 16;
    __m512 a = _mm512_setzero_ps();
    for (int k = 0; k < bound; k += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(key + k), _mm512_loadu_ps(q + k), a);
    float lanes[16];
    _mm512_storeu_ps(lanes, a);
    float s = fold16(lanes);
    for (int k = bound; k < dims; k++) s = fmaf(q[k], key[k], s);
    return s;
}

/*
 * VectorMath.softmax: scaled, the maximum (NaN if any score is NaN, as Math.max gives; the sign of a
 * zero maximum changes no result) subtracted, exp16, summed by lanes, fold16 and the tail in order, divided.
 */
KERNEL static void softmax(float* scores, int n, float scale) {
    int bound = n - n % 16;
    __m512 top = _mm512_set1_ps(-INFINITY);
    __mmask16 nan = 0;
    for (int j = 0; j < bound; j += 16) {
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(scores + j), _mm512_set1_ps(scale));
        _mm512_storeu_ps(scores + j, v);
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        top = _mm512_max_ps(top, v);
    }
    float max = nan ? NAN : _mm512_reduce_max_ps(top);
    for (int j = bound; j < n; j++) {
        scores[j] *= scale;
        max = java_max(max, scores[j]);
    }
    __m512 acc = _mm512_setzero_ps();
    for (int j = 0; j < bound; j += 16) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(scores + j), _mm512_set1_ps(max)));
        _mm512_storeu_ps(scores + j, e);
        acc = _mm512_add_ps(acc, e);
    }
    float lanes[16];
    _mm512_storeu_ps(lanes, acc);
    float sum = fold16(lanes);
    for (int j = bound; j < n; j++) {
        __m512 e = exp16(_mm512_set1_ps(scores[j] - max));
        scores[j] = _mm512_cvtss_f32(e);
        sum += scores[j];
    }
    for (int j = 0; j < n; j++) scores[j] /= sum;
}

/* Lanes [0, count) of a 16-lane operation. */
static inline __mmask16 first_lanes(int count) {
    return count >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << count) - 1);
}

/*
 * Positions per block: a block's keys or values (32 of 128 floats: 16 KiB) stay in L1 while every row
 * and head that sees them uses them. Position by position, each row read all its keys and values
 * from L2, and that bound the kernel (a throwaway one-thread harness, one KV head of five query heads
 * over 512 rows: 9.9 -> 7.1 ms).
 */
#define ATTENTION_BLOCK 32

/*
 * Query head g of row i: q[i·q_stride + g·dims ..], out likewise; keys and values: positions
 * [0, positions = first_position + rows), dims floats each. scores: rows·heads·positions floats of
 * scratch. The work is walked a block of positions at a time, scores first, then the softmaxes, then
 * the weighted values, whose sums wait in out between blocks: every product and sum is the one the
 * Java kernel computes, in the same order.
 */
KERNEL void em_causal_attention(const float* q, int q_stride, int rows, int heads, int dims, int first_position, const float* keys,
        const float* values, float scale, float* out, int out_stride, float* scores) {
    int positions = first_position + rows;
    for (int b0 = 0; b0 < positions; b0 += ATTENTION_BLOCK) {
        int b1 = b0 + ATTENTION_BLOCK < positions ? b0 + ATTENTION_BLOCK : positions;
        for (int i = 0; i < rows; i++) {
            int end = first_position + i + 1 < b1 ? first_position + i + 1 : b1;
            for (int g = 0; g < heads; g++) {
                const float* qi = q + (int64_t) i * q_stride + g * dims;
                float* s = scores + ((int64_t) i * heads + g) * positions;
                int p = b0;
                for (; p + 4 <= end; p += 4) dot4_canonical(qi, keys + (int64_t) p * dims, dims, s + p);
                for (; p < end; p++) s[p] = dot_canonical(qi, keys + (int64_t) p * dims, dims);
            }
        }
    }
    for (int i = 0; i < rows; i++) {
        for (int g = 0; g < heads; g++) {
            softmax(scores + ((int64_t) i * heads + g) * positions, first_position + i + 1, scale);
            memset(out + (int64_t) i * out_stride + g * dims, 0, sizeof(float) * dims);
        }
    }
    for (int b0 = 0; b0 < positions; b0 += ATTENTION_BLOCK) {
        int b1 = b0 + ATTENTION_BLOCK < positions ? b0 + ATTENTION_BLOCK : positions;
        for (int i = 0; i < rows; i++) {
            int end = first_position + i + 1 < b1 ? first_position + i + 1 : b1;
            for (int g = 0; g < heads; g++) {
                const float* s = scores + ((int64_t) i * heads + g) * positions;
                float* o = out + (int64_t) i * out_stride + g * dims;
                int d = 0;
                for (; d + 128 <= dims; d += 128) {
                    __m512 acc[8];
                    for (int v = 0; v < 8; v++) acc[v] = _mm512_loadu_ps(o + d + 16 * v);
                    for (int j = b0; j < end; j++) {
                        __m512 w = _mm512_set1_ps(s[j]);
                        const float* row = values + (int64_t) j * dims + d;
                        for (int v = 0; v < 8; v++) acc[v] = _mm512_fmadd_ps(_mm512_loadu_ps(row + 16 * v), w, acc[v]);
                    }
                    for (int v = 0; v < 8; v++) _mm512_storeu_ps(o + d + 16 * v, acc[v]);
                }
                for (; d < dims; d += 16) {
                    __mmask16 m = first_lanes(dims - d);
                    __m512 acc = _mm512_maskz_loadu_ps(m, o + d);
                    for (int j = b0; j < end; j++) {
                        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, values + (int64_t) j * dims + d), _mm512_set1_ps(s[j]), acc);
                    }
                    _mm512_mask_storeu_ps(o + d, m, acc);
                }
            }
        }
    }
}
