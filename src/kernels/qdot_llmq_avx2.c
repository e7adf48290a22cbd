/* AVX2 GEMV kernels of llmq's formats, bit-exact with
 * kernels/ref/qdot_llmq_ref.c. Integer formats: one 32-value unit per ymm,
 * two accumulators (acc_even: lanes 0-7 of the ref, acc_odd: lanes 8-15);
 * lane sums of 4 products come from vpmaddubsw + vpmaddwd, exact because
 * |code * activation| pairs stay below 2^15 (codes < 16 unsigned, or int8
 * codes through the abs/sign trick, activations |a| <= 127 as
 * lq_quant_q8_0_ref makes them). Float formats (NF4, E4M3): the ref's 16
 * lanes as two ymm, values i % 16 < 8 in the first. */
#include <immintrin.h>

#include "core/lq.h"
#define LQ_LLMQ_F16 _cvtsh_ss
#include "kernels/qdot_llmq.h"
#include "kernels/simd_avx2.h"
#include "quant/blocks.h"

#define INLINE static inline __attribute__((always_inline))
#define PF_AHEAD 2048 /* bytes of the weight stream prefetched ahead, as the GGML-format kernels */

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
        /* bit i of the word -> byte i: byte k of the word to bytes 8k..8k+7, then test bit i % 8 */
        int32_t hi;
        memcpy(&hi, u + 8, 4);
        const __m256i spread = _mm256_shuffle_epi8(
            _mm256_set1_epi32(hi), _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
        const __m256i bit = _mm256_set1_epi64x((int64_t)0x8040201008040201);
        const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
        c = _mm256_or_si256(c, _mm256_and_si256(set, _mm256_set1_epi8(4)));
    }
    return c;
}


/* The activations' part of the units, prepared once per call: per unit,
 * lane sums of the activations (symmetric: times -2^(bits-1), the offset of
 * the stored fields; asymmetric: as float, for the min term) and the scale. */
INLINE void prepare_acts(int bits, bool asym, const block_q8_0 *xb, int nb, __m256i *corr, float *da) {
    for (int b = 0; b < nb; b++) {
        const __m256i a = _mm256_loadu_si256((const __m256i *)xb[b].qs);
        const __m256i sa = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), a), _mm256_set1_epi16(1));
        const int shift = bits == 8 ? 7 : bits - 1;
        if (asym) corr[b] = _mm256_castps_si256(_mm256_cvtepi32_ps(sa));
        else corr[b] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sa, shift));
        da[b] = _cvtsh_ss(xb[b].d);
    }
}

/* 4-bit units in pairs (u even, u + 1): px[u] = [x_u 0-15 | x_u+1 0-15],
 * px[u+1] = [x_u 16-31 | x_u+1 16-31], pcorr[u] / pcorr[u+1] the corr lanes
 * 0-3 / 4-7 of both units laid out the same way. */
INLINE void prepare_pairs(const block_q8_0 *xb, int nb, const __m256i *corr, __m256i *pcorr, __m256i *px) {
    for (int u = 0; u + 1 < nb; u += 2) {
        const __m256i a0 = _mm256_loadu_si256((const __m256i *)xb[u].qs);
        const __m256i a1 = _mm256_loadu_si256((const __m256i *)xb[u + 1].qs);
        px[u] = _mm256_permute2x128_si256(a0, a1, 0x20);
        px[u + 1] = _mm256_permute2x128_si256(a0, a1, 0x31);
        pcorr[u] = _mm256_permute2x128_si256(corr[u], corr[u + 1], 0x20);
        pcorr[u + 1] = _mm256_permute2x128_si256(corr[u], corr[u + 1], 0x31);
    }
}

/* the ref's t of one unit: 8 lanes; sw = dw * da and sm = m * da in every lane */
INLINE __m256 unit_term(int bits, bool asym, const uint8_t *u, __m256 sw, __m256 sm, const block_q8_0 *xb,
                        __m256i corr) {
    const __m256i a = _mm256_loadu_si256((const __m256i *)xb->qs);
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256i c = unit_codes(bits, u), p;
    if (bits == 8) {
        /* signed codes q via |q| * sign(a, q): sym stores q; asym fields are
         * q + 128, so the sum gets 128 * sum a back */
        if (asym) c = _mm256_xor_si256(c, _mm256_set1_epi8((char)0x80));
        p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(c), _mm256_sign_epi8(a, c)), ones16);
        if (asym) p = _mm256_add_epi32(p, _mm256_slli_epi32(_mm256_cvtps_epi32(_mm256_castsi256_ps(corr)), 7));
    } else {
        p = _mm256_madd_epi16(_mm256_maddubs_epi16(c, a), ones16);
        if (!asym) p = _mm256_add_epi32(p, corr);
    }
    __m256 t = _mm256_mul_ps(sw, _mm256_cvtepi32_ps(p));
    if (asym) t = _mm256_add_ps(t, _mm256_mul_ps(sm, _mm256_castsi256_ps(corr)));
    return t;
}

/* the fp16 at offset off of the groups of eight units from the group at
 * first (a batch starts a group: upg divides 8), as floats */
INLINE __m256 group_halves8(const uint8_t *first, int upg, size_t gbytes, int off) {
#define H(k) lq_half_at(first + (size_t)((k) / upg) * gbytes + off)
    return _mm256_cvtph_ps(_mm_setr_epi16(H(0), H(1), H(2), H(3), H(4), H(5), H(6), H(7)));
#undef H
}

INLINE __m256 lane(__m256 v, int k) { return _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(k)); }

INLINE void int_rows(int bits, int group, bool asym, lq_qdot_rows_fn ref, float *y, const void *W, size_t row_bytes,
                     const void *xq, int n, int r0, int r1) {
    const block_q8_0 *xb = xq;
    const int nb = n / 32;
    /* per unit: corr, and (4-bit) the pair layout pcorr, px (two vectors each) */
    const size_t per_unit = sizeof(__m256i) * 3 + sizeof(float);
    _Alignas(32) uint8_t stack[128 * (sizeof(__m256i) * 3 + sizeof(float))]; /* 12.5 KiB: rows up to 4096 values */
    uint8_t *buf = stack;
    if (nb > 128 && !(buf = lq_alloc_aligned((size_t)nb * per_unit))) {
        ref(y, W, row_bytes, xq, n, r0, r1); /* same bits, without the prepared activations */
        return;
    }
    __m256i *corr = (__m256i *)buf, *pcorr = corr + nb, *px = pcorr + nb;
    float *da = (float *)(px + nb);
    prepare_acts(bits, asym, xb, nb, corr, da);
    if (bits == 4) prepare_pairs(xb, nb, corr, pcorr, px);
    /* a group's bytes: scale (and min) halves, then its units */
    const int upg = group ? group / 32 : 1, ub = bits * 4, hdr = group ? (asym ? 4 : 2) : 0;
    const size_t gbytes = (size_t)(hdr + upg * ub);
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes;
        const uint8_t *units = group ? row : row + 4; /* I8_CH: an fp32 scale before the row */
        float dw_row = 0.0f;
        if (!group) memcpy(&dw_row, row, 4);
        __m256 acc_even = _mm256_setzero_ps(), acc_odd = _mm256_setzero_ps();
        __m256 acc_lo = _mm256_setzero_ps(), acc_hi = _mm256_setzero_ps(); /* 4-bit: the pair layout */
        int b = 0;
        /* eight units at a time: their dw * da (and m * da) as one vector */
        for (; b + 8 <= nb; b += 8) {
            /* unit b + k: group b / upg + k / upg, unit k % upg in it (upg divides 8),
             * so that every offset from first is a constant */
            const uint8_t *first = units + (size_t)(b / upg) * gbytes;
            const __m256 da8 = _mm256_loadu_ps(da + b);
            __m256 sw, sm = _mm256_setzero_ps();
            if (!group) {
                sw = _mm256_mul_ps(_mm256_set1_ps(dw_row), da8);
            } else {
                sw = _mm256_mul_ps(group_halves8(first, upg, gbytes, 0), da8);
                if (asym) sm = _mm256_mul_ps(group_halves8(first, upg, gbytes, 2), da8);
            }
            for (size_t o = 0; o < 8 * gbytes / upg; o += 64) _mm_prefetch((const char *)first + PF_AHEAD + o, _MM_HINT_T0);
            if (bits == 4) {
                /* units 2m, 2m+1 of the batch in one vector: [u0 values 0-15 | u1 0-15] and
                 * [u0 16-31 | u1 16-31]; their lanes go to [acc_even 0-3 | acc_odd 0-3] (lo)
                 * and [acc_even 4-7 | acc_odd 4-7] (hi), the same additions as one unit at a time */
#pragma GCC unroll 4
                for (int m = 0; m < 4; m++) {
                    const int u = b + 2 * m, k = 2 * m;
                    const uint8_t *c0 = first + (size_t)(k / upg) * gbytes + hdr + (size_t)(k % upg) * ub;
                    const uint8_t *c1 = first + (size_t)((k + 1) / upg) * gbytes + hdr + (size_t)((k + 1) % upg) * ub;
                    const __m256i q = _mm256_loadu2_m128i((const __m128i *)c1, (const __m128i *)c0);
                    const __m256i lo = _mm256_and_si256(q, _mm256_set1_epi8(0x0F));
                    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), _mm256_set1_epi8(0x0F));
                    const __m256i ones16 = _mm256_set1_epi16(1);
                    __m256i plo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, px[u]), ones16);
                    __m256i phi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, px[u + 1]), ones16);
                    if (!asym) plo = _mm256_add_epi32(plo, pcorr[u]), phi = _mm256_add_epi32(phi, pcorr[u + 1]);
                    const __m256i pick = _mm256_setr_epi32(2 * m, 2 * m, 2 * m, 2 * m, 2 * m + 1, 2 * m + 1, 2 * m + 1,
                                                           2 * m + 1);
                    const __m256 swp = _mm256_permutevar8x32_ps(sw, pick);
                    __m256 tlo = _mm256_mul_ps(swp, _mm256_cvtepi32_ps(plo));
                    __m256 thi = _mm256_mul_ps(swp, _mm256_cvtepi32_ps(phi));
                    if (asym) {
                        const __m256 smp = _mm256_permutevar8x32_ps(sm, pick);
                        tlo = _mm256_add_ps(tlo, _mm256_mul_ps(smp, _mm256_castsi256_ps(pcorr[u])));
                        thi = _mm256_add_ps(thi, _mm256_mul_ps(smp, _mm256_castsi256_ps(pcorr[u + 1])));
                    }
                    acc_lo = _mm256_add_ps(acc_lo, tlo);
                    acc_hi = _mm256_add_ps(acc_hi, thi);
                }
                continue;
            }
#pragma GCC unroll 8
            for (int k = 0; k < 8; k++) {
                const int u = b + k;
                const uint8_t *code = first + (size_t)(k / upg) * gbytes + hdr + (size_t)(k % upg) * ub;
                const __m256 t = unit_term(bits, asym, code, lane(sw, k), lane(sm, k), xb + u, corr[u]);
                if (k % 2) acc_odd = _mm256_add_ps(acc_odd, t);
                else acc_even = _mm256_add_ps(acc_even, t);
            }
        }
        if (bits == 4) { /* back to one vector per parity */
            acc_even = _mm256_permute2f128_ps(acc_lo, acc_hi, 0x20);
            acc_odd = _mm256_permute2f128_ps(acc_lo, acc_hi, 0x31);
        }
        for (; b < nb; b++) { /* the last nb % 8 units (b even at the start) */
            float dw, m;
            const uint8_t *code = lq_llmq_int_unit(row, bits, group, asym, b, &dw, &m);
            const __m256 t = unit_term(bits, asym, code, _mm256_set1_ps(dw * da[b]), _mm256_set1_ps(m * da[b]),
                                       xb + b, corr[b]);
            if (b % 2) acc_odd = _mm256_add_ps(acc_odd, t);
            else acc_even = _mm256_add_ps(acc_even, t);
        }
        y[r] = lq_hsum8_ps(_mm256_add_ps(acc_even, acc_odd));
    }
    if (buf != stack) lq_free_aligned(buf);
}

/* 8 E4M3 codes (int32) to floats, exactly as lq_e4m3_to_fp32 (see the
 * AVX-512 file: integer rebias for normals, magnitude * 2^-9 below 8) */
INLINE __m256 e4m3_decode(__m256i c) {
    const __m256i mag = _mm256_and_si256(c, _mm256_set1_epi32(0x7F));
    const __m256i sign = _mm256_slli_epi32(_mm256_and_si256(c, _mm256_set1_epi32(0x80)), 24);
    const __m256 normal = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_slli_epi32(mag, 20), _mm256_set1_epi32(120 << 23)));
    const __m256 sub = _mm256_mul_ps(_mm256_cvtepi32_ps(mag), _mm256_set1_ps(0x1p-9f));
    __m256 v = _mm256_blendv_ps(normal, sub, _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(8), mag)));
    v = _mm256_blendv_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FC00000)),
                         _mm256_castsi256_ps(_mm256_cmpeq_epi32(mag, _mm256_set1_epi32(0x7F))));
    return _mm256_or_ps(v, _mm256_castsi256_ps(sign));
}

/* NF4 values of 8 codes (int32 0..15): two 8-entry permutes, chosen by bit 3 */
INLINE __m256 nf4_lookup(__m256i c, __m256 lo, __m256 hi) {
    return _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo, c), _mm256_permutevar8x32_ps(hi, c),
                            _mm256_castsi256_ps(_mm256_slli_epi32(c, 28)));
}

INLINE __m256 mul_add(__m256 acc, __m256 w, const float *x) { return _mm256_add_ps(acc, _mm256_mul_ps(w, _mm256_loadu_ps(x))); }

INLINE __m256i bytes8(const uint8_t *p) {
    int64_t v;
    memcpy(&v, p, 8);
    return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(v));
}

INLINE void f32_rows(int kind, int group, float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0,
                     int r1) {
    const float *x = xq;
    const int tail = kind == 1 ? n % 16 : 0;
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        if (kind == 0) {
            const __m256 lo = _mm256_loadu_ps(lq_nf4_values), hi = _mm256_loadu_ps(lq_nf4_values + 8);
            const __m256i m4 = _mm256_set1_epi32(0xF);
            for (int b = 0; b < n / 64; b++) {
                const uint8_t *blk = row + (size_t)b * 34;
                const __m256 d = _mm256_set1_ps(lq_llmq_rd_f16(blk));
                for (int h = 0; h < 2; h++) {
                    const uint8_t *q = blk + 2 + 16 * h;
                    const float *xs = x + 64 * b + 32 * h;
                    const __m256i c0 = bytes8(q), c1 = bytes8(q + 8);
                    acc0 = mul_add(acc0, _mm256_mul_ps(nf4_lookup(_mm256_and_si256(c0, m4), lo, hi), d), xs);
                    acc1 = mul_add(acc1, _mm256_mul_ps(nf4_lookup(_mm256_and_si256(c1, m4), lo, hi), d), xs + 8);
                    acc0 = mul_add(acc0, _mm256_mul_ps(nf4_lookup(_mm256_srli_epi32(c0, 4), lo, hi), d), xs + 16);
                    acc1 = mul_add(acc1, _mm256_mul_ps(nf4_lookup(_mm256_srli_epi32(c1, 4), lo, hi), d), xs + 24);
                }
            }
            y[r] = lq_hsum8_ps(_mm256_add_ps(acc0, acc1));
        } else if (kind == 1) {
            const uint8_t *c = row + 4;
            for (int i = 0; i + 16 <= n; i += 16) {
                acc0 = mul_add(acc0, e4m3_decode(bytes8(c + i)), x + i);
                acc1 = mul_add(acc1, e4m3_decode(bytes8(c + i + 8)), x + i + 8);
            }
            float s;
            memcpy(&s, row, 4);
            if (tail) { /* the last n % 16 values: lanes in the ref's order, others untouched */
                float a[16];
                _mm256_storeu_ps(a, acc0);
                _mm256_storeu_ps(a + 8, acc1);
                for (int i = n - tail; i < n; i++) a[i % 16] = a[i % 16] + lq_e4m3_to_fp32(c[i]) * x[i];
                acc0 = _mm256_loadu_ps(a);
                acc1 = _mm256_loadu_ps(a + 8);
            }
            y[r] = s * lq_hsum8_ps(_mm256_add_ps(acc0, acc1));
        } else {
            for (int g = 0; g < n / group; g++) {
                const uint8_t *blk = row + (size_t)g * (size_t)(2 + group);
                const __m256 d = _mm256_set1_ps(lq_llmq_rd_f16(blk));
                for (int i = 0; i < group; i += 16) {
                    acc0 = mul_add(acc0, _mm256_mul_ps(e4m3_decode(bytes8(blk + 2 + i)), d), x + g * group + i);
                    acc1 = mul_add(acc1, _mm256_mul_ps(e4m3_decode(bytes8(blk + 10 + i)), d), x + g * group + i + 8);
                }
            }
            y[r] = lq_hsum8_ps(_mm256_add_ps(acc0, acc1));
        }
    }
}

#define INT_K(name, bits, group, asym)                                                                      \
    void lq_qdot_llmq_##name##_avx2(float *y, const void *W, size_t rb, const void *xq, int n, int r0, int r1) { \
        int_rows(bits, group, asym, lq_qdot_llmq_##name##_ref, y, W, rb, xq, n, r0, r1);                                               \
    }
#define F32_K(name, kind, group)                                                                            \
    void lq_qdot_llmq_##name##_avx2(float *y, const void *W, size_t rb, const void *xq, int n, int r0, int r1) { \
        f32_rows(kind, group, y, W, rb, xq, n, r0, r1);                                                     \
    }
LQ_LLMQ_INT_TYPES(INT_K)
LQ_LLMQ_F32_TYPES(F32_K)
