/* AVX-512 (VNNI) GEMV kernels of llmq's formats: the float order of
 * kernels/ref/qdot_llmq_ref.c, so results equal _ref bit for bit.
 * Integer formats: two 32-value units per zmm (lanes 0-7 even unit, 8-15
 * odd unit); vpdpbusd gives the exact lane sums of 4 code * activation
 * products, the codes as unsigned fields and the sign offset taken off with
 * a second vpdpbusd of the activations. */
#include <immintrin.h>

#include "kernels/qdot_llmq.h"
#include "quant/blocks.h"

#define INLINE static inline __attribute__((always_inline))

INLINE float f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

INLINE float reduce16(__m512 acc) {
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm512_extractf32x8_ps(acc, 1));
    const __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    const __m128 r = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(r, _mm_movehdup_ps(r)));
}

/* 32 unsigned code fields of a unit in value order (8 bit: the raw bytes) */
INLINE __m256i unit_codes(int bits, const uint8_t *u) {
    if (bits == 8) return _mm256_loadu_si256((const __m256i *)u);
    if (bits == 4) {
        const __m128i v = _mm_loadu_si128((const __m128i *)u), m = _mm_set1_epi8(0x0F);
        return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
    }
    int64_t q;
    memcpy(&q, u, 8);
    __m256i c = _mm256_and_si256(_mm256_srlv_epi64(_mm256_set1_epi64x(q), _mm256_set_epi64x(6, 4, 2, 0)),
                                 _mm256_set1_epi8(3));
    if (bits == 3) {
        uint32_t hi;
        memcpy(&hi, u + 8, 4);
        c = _mm256_or_si256(c, _mm256_maskz_set1_epi8((__mmask32)hi, 4));
    }
    return c;
}

/* unit b of a row: code bytes, group scale and min */
INLINE const uint8_t *int_unit(const uint8_t *row, int bits, int group, bool asym, int b, float *dw, float *m) {
    if (group == 0) {
        memcpy(dw, row, 4);
        *m = 0.0f;
        return row + 4 + 32 * (size_t)b;
    }
    const int upg = group / 32, ub = bits * 4, hdr = asym ? 4 : 2;
    const uint8_t *blk = row + (size_t)(b / upg) * (size_t)(hdr + upg * ub);
    *dw = f16(blk);
    *m = asym ? f16(blk + 2) : 0.0f;
    return blk + hdr + (b % upg) * ub;
}

INLINE void int_rows(int bits, int group, bool asym, float *y, const void *W, size_t row_bytes, const void *xq, int n,
                     int r0, int r1) {
    const block_q8_0 *xb = xq;
    const int nb = n / 32;
    /* asym: sums of activations; sym: 2^(bits-1) times them, the offset of
     * the stored fields (int8 codes are offset by xor 0x80) */
    const __m512i off = _mm512_set1_epi8((char)(asym ? 1 : 1 << (bits - 1)));
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes;
        __m512 acc = _mm512_setzero_ps();
        for (int b = 0; b < nb; b += 2) {
            const bool pair = b + 1 < nb;
            float dw0, m0, dw1 = 0.0f, m1 = 0.0f;
            const uint8_t *u0 = int_unit(row, bits, group, asym, b, &dw0, &m0);
            __m256i c0 = unit_codes(bits, u0), c1 = _mm256_setzero_si256();
            __m256i a1 = _mm256_setzero_si256();
            float da1 = 0.0f;
            if (pair) {
                const uint8_t *u1 = int_unit(row, bits, group, asym, b + 1, &dw1, &m1);
                c1 = unit_codes(bits, u1);
                a1 = _mm256_loadu_si256((const __m256i *)xb[b + 1].qs);
                da1 = _cvtsh_ss(xb[b + 1].d);
            }
            if (bits == 8 && !asym) {
                c0 = _mm256_xor_si256(c0, flip);
                c1 = _mm256_xor_si256(c1, flip);
            }
            const float da0 = _cvtsh_ss(xb[b].d);
            const __m512i cz = _mm512_inserti64x4(_mm512_castsi256_si512(c0), c1, 1);
            const __m512i az =
                _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)xb[b].qs)), a1, 1);
            __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), cz, az);
            const __m512i sa = _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, az);
            if (!asym) p = _mm512_sub_epi32(p, sa);
            const __m512 sw = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(dw0 * da0), _mm512_set1_ps(dw1 * da1));
            __m512 t = _mm512_mul_ps(sw, _mm512_cvtepi32_ps(p));
            if (asym) {
                const __m512 sm = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(m0 * da0), _mm512_set1_ps(m1 * da1));
                t = _mm512_add_ps(t, _mm512_mul_ps(sm, _mm512_cvtepi32_ps(sa)));
            }
            acc = _mm512_mask_add_ps(acc, pair ? 0xFFFF : 0x00FF, acc, t);
        }
        y[r] = reduce16(acc);
    }
}

/* ---------------------------------------------------------- float formats */

/* 16 E4M3 codes (as int32) to floats, exactly as lq_e4m3_to_fp32: normal
 * codes by rebiasing the exponent in the integer domain, subnormals
 * (magnitude < 8) as magnitude * 2^-9, which avoids denormal operands. */
INLINE __m512 e4m3_decode(__m512i c) {
    const __m512i mag = _mm512_and_si512(c, _mm512_set1_epi32(0x7F));
    const __m512i sign = _mm512_slli_epi32(_mm512_and_si512(c, _mm512_set1_epi32(0x80)), 24);
    __m512i bits = _mm512_add_epi32(_mm512_slli_epi32(mag, 20), _mm512_set1_epi32(120 << 23));
    const __m512 sub = _mm512_mul_ps(_mm512_cvtepi32_ps(mag), _mm512_set1_ps(0x1p-9f));
    bits = _mm512_mask_mov_epi32(bits, _mm512_cmplt_epi32_mask(mag, _mm512_set1_epi32(8)), _mm512_castps_si512(sub));
    bits = _mm512_mask_mov_epi32(bits, _mm512_cmpeq_epi32_mask(mag, _mm512_set1_epi32(0x7F)),
                                 _mm512_set1_epi32(0x7FC00000));
    return _mm512_castsi512_ps(_mm512_or_si512(bits, sign));
}

INLINE __m512 fma_free(__m512 acc, __m512 w, const float *x) { return _mm512_add_ps(acc, _mm512_mul_ps(w, _mm512_loadu_ps(x))); }

INLINE void f32_rows(int kind, int group, float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0,
                     int r1) {
    const float *x = xq;
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes;
        __m512 acc = _mm512_setzero_ps();
        if (kind == 0) {
            const __m512 cb = _mm512_loadu_ps(lq_nf4_values);
            const __m512i m4 = _mm512_set1_epi32(0xF);
            for (int b = 0; b < n / 64; b++) {
                const uint8_t *blk = row + (size_t)b * 34;
                const __m512 d = _mm512_set1_ps(f16(blk));
                for (int h = 0; h < 2; h++) {
                    const __m512i c = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk + 2 + 16 * h)));
                    const float *xs = x + 64 * b + 32 * h;
                    const __m512 wlo = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_and_si512(c, m4), cb), d);
                    acc = fma_free(acc, wlo, xs);
                    const __m512 whi = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(c, 4), cb), d);
                    acc = fma_free(acc, whi, xs + 16);
                }
            }
            y[r] = reduce16(acc);
        } else if (kind == 1) {
            int i = 0;
            for (; i + 16 <= n; i += 16)
                acc = fma_free(acc, e4m3_decode(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(row + 4 + i)))),
                               x + i);
            if (i < n) {
                const __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
                const __m512 w = e4m3_decode(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, row + 4 + i)));
                acc = _mm512_mask_add_ps(acc, k, acc, _mm512_mul_ps(w, _mm512_maskz_loadu_ps(k, x + i)));
            }
            float s;
            memcpy(&s, row, 4);
            y[r] = s * reduce16(acc);
        } else {
            for (int g = 0; g < n / group; g++) {
                const uint8_t *blk = row + (size_t)g * (size_t)(2 + group);
                const __m512 d = _mm512_set1_ps(f16(blk));
                for (int i = 0; i < group; i += 16) {
                    const __m512i c = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk + 2 + i)));
                    acc = fma_free(acc, _mm512_mul_ps(e4m3_decode(c), d), x + g * group + i);
                }
            }
            y[r] = reduce16(acc);
        }
    }
}

#define INT_K(name, bits, group, asym)                                                                        \
    void lq_qdot_llmq_##name##_avx512(float *y, const void *W, size_t rb, const void *xq, int n, int r0, int r1) { \
        int_rows(bits, group, asym, y, W, rb, xq, n, r0, r1);                                                 \
    }
#define F32_K(name, kind, group)                                                                              \
    void lq_qdot_llmq_##name##_avx512(float *y, const void *W, size_t rb, const void *xq, int n, int r0, int r1) { \
        f32_rows(kind, group, y, W, rb, xq, n, r0, r1);                                                       \
    }
LQ_LLMQ_INT_TYPES(INT_K)
LQ_LLMQ_F32_TYPES(F32_K)
