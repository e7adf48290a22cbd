/* The K-quant GEMV kernels of qdot_kquants_avx2.c (built for AVX2 and
 * again for AVX-512): the formats as an enum, where each block keeps its
 * scales, their unpacking, and the entry points, which the file defines
 * over its qdot_rows(t, y, W, row_bytes, xb, n, r0, r1). */
#ifndef LQ_KERNELS_QDOT_KQUANTS_LAYOUT_H
#define LQ_KERNELS_QDOT_KQUANTS_LAYOUT_H

#include "kernels/qdot.h"
#include "quant/blocks.h"

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum kq { KQ2, KQ3, KQ4, KQ5, KQ6 };

static const size_t BLOCK_BYTES[5] = {sizeof(block_q2_K), sizeof(block_q3_K), sizeof(block_q4_K),
                                      sizeof(block_q5_K), sizeof(block_q6_K)};
/* offset of d in a block (with mins, dmin follows it) */
static const size_t D_OFFSET[5] = {offsetof(block_q2_K, d), offsetof(block_q3_K, d), offsetof(block_q4_K, d),
                                   offsetof(block_q5_K, d), offsetof(block_q6_K, d)};

/* Q4_K/Q5_K 6-bit scales (bytes 0-7) and mins (bytes 8-15) */
static inline void k4_scales_mins(const uint8_t *packed, uint64_t *scales, uint64_t *mins) {
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    uint32_t u0, u1, u2;
    memcpy(&u0, packed, 4), memcpy(&u1, packed + 4, 4), memcpy(&u2, packed + 8, 4);
    const uint32_t s_lo = u0 & kmask1, m_lo = u1 & kmask1;
    const uint32_t s_hi = (u2 & kmask2) | (((u0 >> 6) & kmask3) << 4);
    const uint32_t m_hi = ((u2 >> 4) & kmask2) | (((u1 >> 6) & kmask3) << 4);
    *scales = s_lo | (uint64_t)s_hi << 32;
    *mins = m_lo | (uint64_t)m_hi << 32;
}

/* Q3_K's 16 6-bit scales minus 32, as int8 in order: bytes 0-7 of packed
 * hold the low four bits of scales 0-7 (low nibbles) and 8-15 (high
 * ones), byte 8 + j the high two of scales j, j + 4, j + 8, j + 12 (bits
 * 0-1, ..., 6-7): one 8-byte load and one broadcast, no scalar unpacking */
static inline __m128i q3_k_scales(const uint8_t *packed) {
    const __m128i v = _mm_loadl_epi64((const __m128i *)packed), m4 = _mm_set1_epi8(15);
    const __m128i lo = _mm_unpacklo_epi64(_mm_and_si128(v, m4), _mm_and_si128(_mm_srli_epi16(v, 4), m4));
    int tmp;
    memcpy(&tmp, packed + 8, 4);
    const __m128i hi = _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32(tmp), _mm_setr_epi32(0, 2, 4, 6)), _mm_set1_epi8(3));
    return _mm_sub_epi8(_mm_or_si128(lo, _mm_slli_epi32(hi, 4)), _mm_set1_epi8(32));
}

#define LQ_KQUANT_ENTRY(name, t, isa)                                                                    \
    void lq_qdot_##name##_##isa(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, \
                                int r1) {                                                                \
        qdot_rows(t, y, W, row_bytes, xq, n, r0, r1);                                                    \
    }
#define LQ_KQUANT_ENTRY_POINTS(isa)                                                                      \
    LQ_KQUANT_ENTRY(q2_k, KQ2, isa)                                                                      \
    LQ_KQUANT_ENTRY(q3_k, KQ3, isa)                                                                      \
    LQ_KQUANT_ENTRY(q4_k, KQ4, isa)                                                                      \
    LQ_KQUANT_ENTRY(q5_k, KQ5, isa) LQ_KQUANT_ENTRY(q6_k, KQ6, isa)

#endif
