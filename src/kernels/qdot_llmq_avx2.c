/* AVX2 GEMV kernels of llmq's formats, bit-exact with
 * kernels/ref/qdot_llmq_ref.c. Integer formats: one 32-value unit per ymm,
 * two accumulators (acc_even: lanes 0-7 of the ref, acc_odd: lanes 8-15);
 * lane sums of 4 products come from vpmaddubsw + vpmaddwd, exact because
 * |code * activation| pairs stay below 2^15 (codes < 16 unsigned, or int8
 * codes through the abs/sign trick, activations |a| <= 127 as
 * lq_quant_q8_0_ref makes them). The float formats (NF4, E4M3) call the
 * reference kernels on AVX2: they need a 16-entry float lookup per value,
 * which AVX-512's vpermps does in one step. */
#include <immintrin.h>

#include "kernels/qdot_llmq.h"
#include "quant/blocks.h"

#define INLINE static inline __attribute__((always_inline))

INLINE float f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

INLINE float reduce16(__m256 lo, __m256 hi) {
    const __m256 h = _mm256_add_ps(lo, hi);
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

/* the ref's t of one unit: 8 lanes */
INLINE __m256 unit_term(int bits, bool asym, const uint8_t *u, float dw, float m, const block_q8_0 *xb) {
    const __m256i a = _mm256_loadu_si256((const __m256i *)xb->qs);
    const __m256i ones16 = _mm256_set1_epi16(1);
    const __m256i sa = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), a), ones16);
    __m256i c = unit_codes(bits, u), p;
    if (bits == 8) {
        /* signed codes q (sym: stored; asym: field - 128) via |q| * sign(a, q) */
        if (asym) c = _mm256_xor_si256(c, _mm256_set1_epi8((char)0x80));
        p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(c), _mm256_sign_epi8(a, c)), ones16);
        if (asym) p = _mm256_add_epi32(p, _mm256_slli_epi32(sa, 7));
    } else {
        p = _mm256_madd_epi16(_mm256_maddubs_epi16(c, a), ones16);
        if (!asym) p = _mm256_sub_epi32(p, _mm256_slli_epi32(sa, bits - 1));
    }
    const float da = _cvtsh_ss(xb->d);
    __m256 t = _mm256_mul_ps(_mm256_set1_ps(dw * da), _mm256_cvtepi32_ps(p));
    if (asym) t = _mm256_add_ps(t, _mm256_mul_ps(_mm256_set1_ps(m * da), _mm256_cvtepi32_ps(sa)));
    return t;
}

INLINE void int_rows(int bits, int group, bool asym, float *y, const void *W, size_t row_bytes, const void *xq, int n,
                     int r0, int r1) {
    const block_q8_0 *xb = xq;
    const int nb = n / 32;
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes;
        __m256 acc_even = _mm256_setzero_ps(), acc_odd = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++) {
            float dw, m;
            const uint8_t *u = int_unit(row, bits, group, asym, b, &dw, &m);
            const __m256 t = unit_term(bits, asym, u, dw, m, xb + b);
            if (b % 2) acc_odd = _mm256_add_ps(acc_odd, t);
            else acc_even = _mm256_add_ps(acc_even, t);
        }
        y[r] = reduce16(acc_even, acc_odd);
    }
}

#define INT_K(name, bits, group, asym)                                                                      \
    void lq_qdot_llmq_##name##_avx2(float *y, const void *W, size_t rb, const void *xq, int n, int r0, int r1) { \
        int_rows(bits, group, asym, y, W, rb, xq, n, r0, r1);                                               \
    }
#define F32_K(name, kind, group)                                                                            \
    void lq_qdot_llmq_##name##_avx2(float *y, const void *W, size_t rb, const void *xq, int n, int r0, int r1) { \
        lq_qdot_llmq_##name##_ref(y, W, rb, xq, n, r0, r1);                                                 \
    }
LQ_LLMQ_INT_TYPES(INT_K)
LQ_LLMQ_F32_TYPES(F32_K)
