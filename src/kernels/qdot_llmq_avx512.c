/* AVX-512 (VNNI) GEMV kernels of llmq's formats: the float order of
 * kernels/ref/qdot_llmq_ref.c, so results equal _ref bit for bit.
 * Integer formats: two 32-value units per zmm (lanes 0-7 even unit, 8-15
 * odd unit); vpdpbusd gives the exact lane sums of 4 code * activation
 * products, the codes as unsigned fields. The activations' part (the sign
 * offset of the fields, the scales) is prepared once per call and shared
 * by all rows. The asymmetric types run the AVX2 kernels (their min term
 * is one FMA per eight units there; the lookup in the ref file says so). */
#include <immintrin.h>

#include "core/lq.h"
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

/* Code fields of units b, b+1 (u1 NULL: zeros) in value order, 64 bytes;
 * 8-bit symmetric codes come back offset by 128 (xor 0x80). contig: u1
 * follows u0 directly. */
INLINE __m512i pair_codes(int bits, bool contig, const uint8_t *u0, const uint8_t *u1) {
    if (bits == 8) {
        __m512i c;
        if (contig && u1) c = _mm512_loadu_si512(u0);
        else c = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)u0)),
                                    u1 ? _mm256_loadu_si256((const __m256i *)u1) : _mm256_setzero_si256(), 1);
        return _mm512_xor_si512(c, _mm512_set1_epi8((char)0x80));
    }
    if (bits == 4) {
        __m256i v;
        if (contig && u1) v = _mm256_loadu_si256((const __m256i *)u0);
        else v = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)u0)),
                                         u1 ? _mm_loadu_si128((const __m128i *)u1) : _mm_setzero_si128(), 1);
        /* 128-bit lanes [u0, u0, u1, u1], the odd ones shifted to their high nibbles */
        const __m512i z = _mm512_permutexvar_epi64(_mm512_set_epi64(3, 2, 3, 2, 1, 0, 1, 0), _mm512_castsi256_si512(v));
        return _mm512_and_si512(_mm512_srlv_epi64(z, _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0)), _mm512_set1_epi8(0x0F));
    }
    /* 2 bit (and the low bits of 3 bit): each 8-byte word to 4 qwords shifted by 0, 2, 4, 6 */
    int64_t q0, q1 = 0;
    memcpy(&q0, u0, 8);
    if (u1) memcpy(&q1, u1, 8);
    const __m512i z = _mm512_permutexvar_epi64(_mm512_set_epi64(1, 1, 1, 1, 0, 0, 0, 0),
                                               _mm512_castsi128_si512(_mm_set_epi64x(q1, q0)));
    __m512i c = _mm512_and_si512(_mm512_srlv_epi64(z, _mm512_set_epi64(6, 4, 2, 0, 6, 4, 2, 0)), _mm512_set1_epi8(3));
    if (bits == 3) {
        uint32_t h0, h1 = 0;
        memcpy(&h0, u0 + 8, 4);
        if (u1) memcpy(&h1, u1 + 8, 4);
        c = _mm512_or_si512(c, _mm512_maskz_set1_epi8((__mmask64)h0 | (__mmask64)h1 << 32, 4));
    }
    return c;
}

/* The activations of two units, prepared once per call: the int8 values,
 * the per-lane offset term (-2^(bits-1) * sum a, the offset of the stored
 * fields, as the int32 start of vpdpbusd) and the fp16 scales
 * [da0 x 8, da1 x 8] as floats. */
typedef struct act_pair {
    __m512i a;
    __m512i corr;
    __m512 da;
} act_pair;

INLINE void prepare_acts(int bits, const block_q8_0 *xb, int nb, act_pair *ap) {
    const __m512i off = _mm512_set1_epi8((char)(1 << (bits - 1)));
    for (int b = 0; b < nb; b += 2) {
        const bool pair = b + 1 < nb;
        const __m512i a = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)xb[b].qs)),
            pair ? _mm256_loadu_si256((const __m256i *)xb[b + 1].qs) : _mm256_setzero_si256(), 1);
        const __m512i sa = _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, a);
        act_pair *p = &ap[b / 2];
        p->a = a;
        p->corr = _mm512_sub_epi32(_mm512_setzero_si512(), sa);
        p->da = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(_cvtsh_ss(xb[b].d)),
                                     _mm512_set1_ps(pair ? _cvtsh_ss(xb[b + 1].d) : 0.0f));
    }
}

/* [v0 x 8, v1 x 8] of two fp16 values */
INLINE __m512 pair_f16(const uint8_t *p0, const uint8_t *p1) {
    uint16_t h0, h1;
    memcpy(&h0, p0, 2);
    memcpy(&h1, p1, 2);
    const __m128 two = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)h0 | (uint32_t)h1 << 16)));
    return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                 _mm512_castps128_ps512(two));
}

/* the ref's t of units b, b+1 (c: their codes, dwv: scale per lane) */
INLINE __m512 pair_term(__m512i c, __m512 dwv, const act_pair *a) {
    const __m512i p = _mm512_dpbusd_epi32(a->corr, c, a->a);
    return _mm512_mul_ps(_mm512_mul_ps(dwv, a->da), _mm512_cvtepi32_ps(p));
}

INLINE void int_rows_prepared(int bits, int group, float *y, const uint8_t *W, size_t row_bytes,
                              const act_pair *ap, int nb, int r0, int r1) {
    const int ub = bits * 4, hdr = 2, upg = group / 32, bsz = hdr + upg * ub;
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = W + (size_t)r * row_bytes;
        __m512 acc = _mm512_setzero_ps();
        if (group == 0) { /* row-wise: fp32 scale, then the int8 codes */
            float s;
            memcpy(&s, row, 4);
            const __m512 dwv = _mm512_set1_ps(s);
            int b = 0;
            for (; b + 1 < nb; b += 2)
                acc = _mm512_add_ps(acc, pair_term(pair_codes(bits, true, row + 4 + 32 * b, row + 36 + 32 * b),
                                                   dwv, &ap[b / 2]));
            if (b < nb)
                acc = _mm512_mask_add_ps(acc, 0x00FF, acc,
                                         pair_term(pair_codes(bits, true, row + 4 + 32 * b, NULL), dwv,
                                                   &ap[b / 2]));
        } else if (group == 32) { /* a pair of units spans two blocks */
            int b = 0;
            for (; b + 1 < nb; b += 2) {
                const uint8_t *b0 = row + (size_t)b * bsz, *b1 = b0 + bsz;
                acc = _mm512_add_ps(acc, pair_term(pair_codes(bits, false, b0 + hdr, b1 + hdr),
                                                   pair_f16(b0, b1), &ap[b / 2]));
            }
            if (b < nb) {
                const uint8_t *b0 = row + (size_t)b * bsz;
                acc = _mm512_mask_add_ps(acc, 0x00FF, acc,
                                         pair_term(pair_codes(bits, false, b0 + hdr, NULL), pair_f16(b0, b0),
                                                   &ap[b / 2]));
            }
        } else { /* 64 / 128: whole pairs inside a block */
            for (int g = 0; g < nb / upg; g++) {
                const uint8_t *blk = row + (size_t)g * bsz;
                const __m512 dwv = _mm512_set1_ps(f16(blk));
                for (int k = 0; k < upg; k += 2) {
                    const uint8_t *u = blk + hdr + k * ub;
                    acc = _mm512_add_ps(acc, pair_term(pair_codes(bits, true, u, u + ub), dwv,
                                                       &ap[(g * upg + k) / 2]));
                }
            }
        }
        y[r] = reduce16(acc);
    }
}

INLINE void int_rows(int bits, int group, lq_qdot_rows_fn ref, float *y, const void *W, size_t row_bytes,
                     const void *xq, int n, int r0, int r1) {
    const int nb = n / 32, np = (nb + 1) / 2;
    act_pair stack[64], *ap = stack; /* 12 KiB: rows up to 4096 values */
    if (np > 64 && !(ap = lq_alloc_aligned((size_t)np * sizeof *ap))) {
        ref(y, W, row_bytes, xq, n, r0, r1); /* same bits, without the prepared activations */
        return;
    }
    prepare_acts(bits, xq, nb, ap);
    int_rows_prepared(bits, group, y, W, row_bytes, ap, nb, r0, r1);
    if (ap != stack) lq_free_aligned(ap);
}

/* The float formats (NF4, E4M3) run the AVX2 kernels, decoded through
 * F16C: kernels/ref/qdot_llmq_ref.c hands them out for this table too. */

#define INT_K(name, bits, group, asym) INT_K_##asym(name, bits, group)
#define INT_K_1(name, bits, group) /* asymmetric: the AVX2 kernel */
#define INT_K_0(name, bits, group)                                                                            \
    void lq_qdot_llmq_##name##_avx512(float *y, const void *W, size_t rb, const void *xq, int n, int r0, int r1) { \
        int_rows(bits, group, lq_qdot_llmq_##name##_ref, y, W, rb, xq, n, r0, r1);                            \
    }
LQ_LLMQ_INT_TYPES(INT_K)
