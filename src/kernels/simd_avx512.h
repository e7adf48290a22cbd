/* Small AVX-512 pieces of the 32-value-block GEMV kernel
 * (qdot_legacy_avx512.c; include them from *_avx512.c files only): integer
 * partial sums of 16 blocks turned into one lane per block, the
 * references' fold of 16 lane sums, byte masks of a row's last bytes, and
 * fp16 scales read by scalar loads. */
#ifndef LQ_KERNELS_SIMD_AVX512_H
#define LQ_KERNELS_SIMD_AVX512_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* a_g holds units 4g+k in 128-bit lane k as 4 int32 partial sums; returns
 * the 16 unit sums in unit order. */
static inline __m512i isum16_groups(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    const __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1));
    const __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3));
    const __m512i t = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
    /* t: dword 4k+j holds unit 4j+k */
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_epi32(order, t);
}

/* the references' fold of 16 lane sums: h = 8, 4, 2, 1 */
static inline float fold16(__m512 v) {
    const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

/* Byte masks of the first k bytes of a load (k may be <= 0 or past the width). */
static inline __mmask64 first64(long k) { return k >= 64 ? ~0ull : k <= 0 ? 0 : (1ull << k) - 1; }
static inline __mmask16 first16(long k) { return (__mmask16)first64(k < 16 ? k : 16); }

/* The 16-bit words at w + i * bs for i < 4 (0 for i >= live) in one
 * qword: scalar loads, on the integer ports that the vector code leaves
 * idle (cheaper than gathers or cross-lane permutes). live is a constant
 * on the main path. */
static inline __attribute__((always_inline)) uint64_t words4(const uint8_t *w, size_t bs, int live) {
    uint64_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint16_t h = 0;
        if (i < live) memcpy(&h, w + (size_t)i * bs, 2);
        v |= (uint64_t)h << (16 * i);
    }
    return v;
}

/* the same for 16 blocks: block scales as 16 fp16 words */
static inline __attribute__((always_inline)) __m256i scale_words(const uint8_t *w, size_t bs, int live) {
    return _mm256_setr_epi64x((long long)words4(w, bs, live), (long long)words4(w + 4 * bs, bs, live - 4),
                              (long long)words4(w + 8 * bs, bs, live - 8), (long long)words4(w + 12 * bs, bs, live - 12));
}

#endif
