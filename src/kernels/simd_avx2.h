/* Small AVX2 pieces shared by the *_avx2.c kernels (include them from
 * those files only): horizontal sums of eight vectors at once (a transpose
 * by unpacks: one vector per block in, one lane per block out, about 1.5
 * instructions per block instead of a hsum each), the lane mask of a row's
 * last 1..8 values, the sum and maximum of eight floats, and the raw bits
 * of an unaligned fp16 (for _mm_setr_epi16: scales gathered straight into a
 * register, where eight 2-byte stores and one 16-byte load would miss store
 * forwarding). */
#ifndef LQ_KERNELS_SIMD_AVX2_H
#define LQ_KERNELS_SIMD_AVX2_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* v[0..7] -> lane k = sum of the eight lanes of v[k] */
static inline __m256i reduce8(const __m256i *v) {
    const __m256i s01 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[0], v[1]), _mm256_unpackhi_epi32(v[0], v[1]));
    const __m256i s23 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2], v[3]), _mm256_unpackhi_epi32(v[2], v[3]));
    const __m256i s45 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[4], v[5]), _mm256_unpackhi_epi32(v[4], v[5]));
    const __m256i s67 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[6], v[7]), _mm256_unpackhi_epi32(v[6], v[7]));
    /* t0: per 128-bit lane, the lane's sums of v0..v3; t1 the same for v4..v7 */
    const __m256i t0 = _mm256_add_epi32(_mm256_unpacklo_epi64(s01, s23), _mm256_unpackhi_epi64(s01, s23));
    const __m256i t1 = _mm256_add_epi32(_mm256_unpacklo_epi64(s45, s67), _mm256_unpackhi_epi64(s45, s67));
    return _mm256_add_epi32(_mm256_permute2x128_si256(t0, t1, 0x20), _mm256_permute2x128_si256(t0, t1, 0x31));
}

/* v[0..3] = [unit 2m: 4 lanes | unit 2m+1: 4 lanes] (two units per vector,
 * as the nibble kernels lay them out) -> the units' sums in the order the
 * in-lane steps leave them, lane i = unit LQ_PAIRS_ORDER[i]: [units 0, 2,
 * 4, 6 | 1, 3, 5, 7] */
#define LQ_PAIRS_ORDER 0, 2, 4, 6, 1, 3, 5, 7
#define LQ_PAIRS_UNORDER 0, 4, 1, 5, 2, 6, 3, 7 /* lane of unit k */
static inline __m256i lq_pairs_reduce8_p(const __m256i *v) {
    const __m256i s01 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[0], v[1]), _mm256_unpackhi_epi32(v[0], v[1]));
    const __m256i s23 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2], v[3]), _mm256_unpackhi_epi32(v[2], v[3]));
    return _mm256_add_epi32(_mm256_unpacklo_epi64(s01, s23), _mm256_unpackhi_epi64(s01, s23));
}

/* int32 lanes: sums of 4 adjacent u8 x s8 products (lq_dot4), of both
 * pairs' (lq_dot4x2). In the AVX-512 build of the AVX2 kernels (the
 * *_ymm_avx512.c wrappers define LQ_DOT4_VNNI; AVX-512 VNNI and VL, or
 * SIMDe's in the emulation build) one vpdpbusd each; else vpmaddubsw (two
 * added in int16) and one vpmaddwd: the same lanes wherever no int16 sum
 * saturates, which every caller's code and activation ranges rule out. */
static inline __m256i lq_dot4(__m256i u, __m256i s) {
#ifdef LQ_DOT4_VNNI
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

static inline __m256i lq_dot4x2(__m256i u0, __m256i s0, __m256i u1, __m256i s1) {
#ifdef LQ_DOT4_VNNI
    return _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), u0, s0), u1, s1);
#else
    return _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(u0, s0), _mm256_maddubs_epi16(u1, s1)),
                             _mm256_set1_epi16(1));
#endif
}

/* ... -> lane k = sum of unit k's lanes */
static inline __m256i lq_pairs_reduce8(const __m256i *v) {
    return _mm256_permutevar8x32_epi32(lq_pairs_reduce8_p(v), _mm256_setr_epi32(LQ_PAIRS_UNORDER));
}

/* lanes 0 .. min(left, 8) - 1 set */
static inline __m256i lq_live8(size_t left) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left >= 8 ? 8 : (int)left), idx);
}

/* ((v0+v4) + (v2+v6)) + ((v1+v5) + (v3+v7)) in that order: with v = lo + hi,
 * the references' fold of 16 partial sums (h = 8, 4, 2, 1) */
static inline float lq_hsum8_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

static inline int32_t lq_hsum4_epi32(__m128i s) {
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    return _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 1)));
}

static inline int32_t lq_hsum8_epi32(__m256i v) {
    return lq_hsum4_epi32(_mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
}

static inline float lq_hmax8_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

/* Eight 32-bit words, each two fp16 halves [e | o] (a block's scale and
 * min), given as two vectors of four: the eight e and the eight o as
 * floats, in word order. */
static inline void lq_half_pairs8(__m128i w0123, __m128i w4567, __m256 *e, __m256 *o) {
    const __m256 a = _mm256_cvtph_ps(w0123), b = _mm256_cvtph_ps(w4567); /* [e0 o0 e1 o1 | e2 o2 e3 o3] */
    *e = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
    *o = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
}

static inline int lq_word32_at(const uint8_t *p) {
    int v;
    memcpy(&v, p, 4);
    return v;
}

static inline short lq_half_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return (short)h;
}

#endif
