/* Horizontal sums of eight AVX2 vectors at once (a transpose by unpacks),
 * shared by the AVX2 GEMV kernels: one vector per block in, one lane per
 * block out, about 1.5 instructions per block instead of a hsum each. */
#ifndef LQ_KERNELS_REDUCE8_AVX2_H
#define LQ_KERNELS_REDUCE8_AVX2_H

#include <immintrin.h>

/* v[0..7] -> *a, *b: lane k of *a is the sum of the low four lanes of v[k],
 * lane k of *b the sum of its high four lanes */
static inline void reduce8_halves(const __m256i *v, __m256i *a, __m256i *b) {
    const __m256i s01 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[0], v[1]), _mm256_unpackhi_epi32(v[0], v[1]));
    const __m256i s23 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2], v[3]), _mm256_unpackhi_epi32(v[2], v[3]));
    const __m256i s45 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[4], v[5]), _mm256_unpackhi_epi32(v[4], v[5]));
    const __m256i s67 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[6], v[7]), _mm256_unpackhi_epi32(v[6], v[7]));
    /* t0: [low sums of v0..v3 | high sums of v0..v3], t1 the same for v4..v7 */
    const __m256i t0 = _mm256_add_epi32(_mm256_unpacklo_epi64(s01, s23), _mm256_unpackhi_epi64(s01, s23));
    const __m256i t1 = _mm256_add_epi32(_mm256_unpacklo_epi64(s45, s67), _mm256_unpackhi_epi64(s45, s67));
    *a = _mm256_permute2x128_si256(t0, t1, 0x20);
    *b = _mm256_permute2x128_si256(t0, t1, 0x31);
}

/* v[0..7] -> lane k = sum of the eight lanes of v[k] */
static inline __m256i reduce8(const __m256i *v) {
    __m256i a, b;
    reduce8_halves(v, &a, &b);
    return _mm256_add_epi32(a, b);
}

#endif
