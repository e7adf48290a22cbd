/* AVX2 K-quant GEMV kernels (semantics in ref/qdot_kquants_ref.c). Per
 * super-block the integer sums come from maddubs (unsigned weight codes x
 * int8 activations, pairs that never saturate: codes are at most 63) and
 * madd with the sub-block scales; offsets of signed codes (Q3_K's -4,
 * Q6_K's -32) are taken out with the activation bsums. The float part is
 * the reference's, one super-block at a time. */
#include "kernels/qdot.h"
#include "quant/blocks.h"

#include <immintrin.h>
#include <string.h>

static inline int hsum_i32x4(__m128i s) {
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

static inline int hsum_i32(__m256i v) {
    return hsum_i32x4(_mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
}

static inline float fp16(uint16_t h) { return _cvtsh_ss(h); }

/* int16 lanes [s[2k] x8, s[2k+1] x8] from 16 int8 scales (signed) */
static inline __m256i pair_scales_i8(__m128i s8, int k) {
    const __m128i idx = _mm_or_si128(_mm_set1_epi8((char)(2 * k)),
                                     _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s8, idx));
}

static inline __m256i mask8(int v) { return _mm256_set1_epi8((char)v); }

/* sum_j s_j * dot(u_j, x_j) over the 16 sub-blocks of 16 of a Q2_K/Q3_K
 * super-block: u(g, s) are the 32 codes of values 128 g + 32 s .. + 31 */
static inline __m256i dot_2bit(const uint8_t *qs, const uint8_t *hmask, const int8_t *x, __m128i s8) {
    __m256i acc = _mm256_setzero_si256();
    const __m256i hm = hmask ? _mm256_loadu_si256((const __m256i *)hmask) : _mm256_setzero_si256();
    for (int g = 0; g < 2; g++) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * g));
        for (int s = 0; s < 4; s++) {
            __m256i u = _mm256_and_si256(_mm256_srli_epi16(q, 2 * s), mask8(3));
            if (hmask) {
                const __m256i h = _mm256_and_si256(_mm256_srli_epi16(hm, 4 * g + s), mask8(1));
                u = _mm256_or_si256(u, _mm256_slli_epi16(h, 2));
            }
            const __m256i p = _mm256_maddubs_epi16(u, _mm256_loadu_si256((const __m256i *)(x + 128 * g + 32 * s)));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, pair_scales_i8(s8, 4 * g + s)));
        }
    }
    return acc;
}

void lq_qdot_q2_k_avx2(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1) {
    const block_q8_K *xb = xq;
    const int nb = n / QK_K;
    for (int r = r0; r < r1; r++) {
        const block_q2_K *wb = (const block_q2_K *)((const uint8_t *)W + (size_t)r * row_bytes);
        float acc = 0.0f;
        for (int i = 0; i < nb; i++) {
            const __m128i sc = _mm_loadu_si128((const __m128i *)wb[i].scales);
            const __m128i lo = _mm_and_si128(sc, _mm_set1_epi8(0xF));
            const __m128i hi = _mm_and_si128(_mm_srli_epi16(sc, 4), _mm_set1_epi8(0xF));
            const int isum = hsum_i32(dot_2bit(wb[i].qs, NULL, xb[i].qs, lo));
            const __m256i bs = _mm256_loadu_si256((const __m256i *)xb[i].bsums);
            const int imin = hsum_i32(_mm256_madd_epi16(_mm256_cvtepu8_epi16(hi), bs));
            const float dd = fp16(wb[i].d) * xb[i].d, dm = fp16(wb[i].dmin) * xb[i].d;
            acc = acc + (dd * (float)isum - dm * (float)imin);
        }
        y[r] = acc;
    }
}

/* the 16 Q3_K scales, 6 bits each, minus 32 */
static inline __m128i q3_k_scales(const uint8_t packed[12]) {
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    uint32_t aux[4];
    memcpy(aux, packed, 12);
    const uint32_t tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    /* from registers: a 16-byte load of the four 4-byte stores would miss store forwarding */
    return _mm_sub_epi8(_mm_setr_epi32((int)aux[0], (int)aux[1], (int)aux[2], (int)aux[3]), _mm_set1_epi8(32));
}

void lq_qdot_q3_k_avx2(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1) {
    const block_q8_K *xb = xq;
    const int nb = n / QK_K;
    for (int r = r0; r < r1; r++) {
        const block_q3_K *wb = (const block_q3_K *)((const uint8_t *)W + (size_t)r * row_bytes);
        float acc = 0.0f;
        for (int i = 0; i < nb; i++) {
            const __m128i s8 = q3_k_scales(wb[i].scales);
            /* codes u = q + 4 in 0..7: sum s_j dot(q_j, x_j) = sum s_j dot(u_j, x_j) - 4 sum s_j bsum_j */
            const __m256i bs = _mm256_loadu_si256((const __m256i *)xb[i].bsums);
            const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(_mm256_cvtepi8_epi16(s8), bs), 2);
            const int isum = hsum_i32(_mm256_sub_epi32(dot_2bit(wb[i].qs, wb[i].hmask, xb[i].qs, s8), off));
            const float dd = fp16(wb[i].d) * xb[i].d;
            acc = acc + dd * (float)isum;
        }
        y[r] = acc;
    }
}

/* Q4_K/Q5_K 6-bit scales (bytes 0-7) and mins (bytes 8-15) */
static inline void k4_scales_mins(const uint8_t packed[12], uint8_t out[16]) {
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    uint32_t u[4];
    memcpy(u, packed, 12);
    u[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
    const uint32_t m_lo = u[1] & kmask1;
    u[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
    u[2] = m_lo;
    u[0] &= kmask1;
    memcpy(out, u, 16);
}

static void qdot_q45_k(float *y, const void *W, size_t row_bytes, const block_q8_K *xb, int n, int r0, int r1,
                       int five_bits) {
    const int nb = n / QK_K;
    const size_t bsize = five_bits ? sizeof(block_q5_K) : sizeof(block_q4_K);
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes;
        float acc = 0.0f;
        for (int i = 0; i < nb; i++) {
            const uint8_t *blk = row + (size_t)i * bsize;
            /* both layouts start with d, dmin, scales[12]; Q5_K then has qh[32] */
            uint16_t d, dmin;
            memcpy(&d, blk, 2), memcpy(&dmin, blk + 2, 2);
            const uint8_t *qh = five_bits ? blk + 16 : NULL, *qs = blk + (five_bits ? 48 : 16);
            uint8_t sm[16];
            k4_scales_mins(blk + 4, sm);
            const __m256i hb = qh ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
            __m256i a = _mm256_setzero_si256();
            for (int g = 0; g < 4; g++) {
                const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * g));
                __m256i lo = _mm256_and_si256(q, mask8(0xF)), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), mask8(0xF));
                if (qh) {
                    const __m256i h0 = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * g), mask8(1));
                    const __m256i h1 = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * g + 1), mask8(1));
                    lo = _mm256_or_si256(lo, _mm256_slli_epi16(h0, 4));
                    hi = _mm256_or_si256(hi, _mm256_slli_epi16(h1, 4));
                }
                const int8_t *x = xb[i].qs + 64 * g;
                const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)x));
                const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(x + 32)));
                a = _mm256_add_epi32(a, _mm256_madd_epi16(plo, _mm256_set1_epi16(sm[2 * g])));
                a = _mm256_add_epi32(a, _mm256_madd_epi16(phi, _mm256_set1_epi16(sm[2 * g + 1])));
            }
            const int isum = hsum_i32(a);
            /* bsums pairs summed, then times the mins */
            const __m128i bs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)xb[i].bsums),
                                              _mm_loadu_si128((const __m128i *)(xb[i].bsums + 8)));
            const __m128i mins = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(sm + 8)));
            const int imin = hsum_i32x4(_mm_madd_epi16(bs, mins));
            const float dd = fp16(d) * xb[i].d, dm = fp16(dmin) * xb[i].d;
            acc = acc + (dd * (float)isum - dm * (float)imin);
        }
        y[r] = acc;
    }
}

void lq_qdot_q4_k_avx2(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1) {
    qdot_q45_k(y, W, row_bytes, xq, n, r0, r1, 0);
}

void lq_qdot_q5_k_avx2(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1) {
    qdot_q45_k(y, W, row_bytes, xq, n, r0, r1, 1);
}

void lq_qdot_q6_k_avx2(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1) {
    const block_q8_K *xb = xq;
    const int nb = n / QK_K;
    for (int r = r0; r < r1; r++) {
        const block_q6_K *wb = (const block_q6_K *)((const uint8_t *)W + (size_t)r * row_bytes);
        float acc = 0.0f;
        for (int i = 0; i < nb; i++) {
            const __m128i s8 = _mm_loadu_si128((const __m128i *)wb[i].scales);
            __m256i a = _mm256_setzero_si256();
            for (int h = 0; h < 2; h++) {
                const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(wb[i].ql + 64 * h));
                const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(wb[i].ql + 64 * h + 32));
                const __m256i qh = _mm256_loadu_si256((const __m256i *)(wb[i].qh + 32 * h));
                const __m256i m4 = mask8(0xF), m2 = mask8(0x30);
                /* codes of values 128h + 0, 32, 64, 96 (+ 0..31), top bits from qh */
                const __m256i u[4] = {
                    _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2)),
                    _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2)),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m2)),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                    _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2)),
                };
                for (int k = 0; k < 4; k++) {
                    const __m256i x = _mm256_loadu_si256((const __m256i *)(xb[i].qs + 128 * h + 32 * k));
                    const __m256i p = _mm256_maddubs_epi16(u[k], x);
                    a = _mm256_add_epi32(a, _mm256_madd_epi16(p, pair_scales_i8(s8, 4 * h + k)));
                }
            }
            /* codes are q + 32: take out 32 * sum_j s_j bsum_j */
            const __m256i bs = _mm256_loadu_si256((const __m256i *)xb[i].bsums);
            const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(_mm256_cvtepi8_epi16(s8), bs), 5);
            const int isum = hsum_i32(_mm256_sub_epi32(a, off));
            const float dd = fp16(wb[i].d) * xb[i].d;
            acc = acc + dd * (float)isum;
        }
        y[r] = acc;
    }
}
