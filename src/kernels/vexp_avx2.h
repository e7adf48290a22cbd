/* Vector e^x for x <= 0, for the AVX2 kernels only (include it from
 * *_avx2.c files): the same Cephes expf polynomial as vexp_avx512.h, the
 * 2^n step as two exponent-field products (n down to -150 stays normal in
 * each factor); within 2 ulp of expf; underflows to 0. And the softmax
 * numerators of a row with their sum. */
#ifndef LQ_VEXP_AVX2_H
#define LQ_VEXP_AVX2_H

#include <immintrin.h>

#include "kernels/simd_avx2.h"

static inline __m256 lq_exp_le0_avx2(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-104.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i ni = _mm256_cvtps_epi32(n), h = _mm256_srai_epi32(ni, 1), bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, h), bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/* v[0..n) -> exp(v - mx) in place (mx at least every v); returns their sum,
 * the eight lanes' partial sums folded by lq_hsum8_ps */
static inline float lq_exp_sum_avx2(float *v, int n, float mx) {
    const __m256 m = _mm256_set1_ps(mx);
    __m256 vsum = _mm256_setzero_ps();
    for (int j = 0; j < n; j += 8) {
        const __m256i live = lq_live8((size_t)(n - j));
        const __m256 e = _mm256_and_ps(lq_exp_le0_avx2(_mm256_sub_ps(_mm256_maskload_ps(v + j, live), m)),
                                       _mm256_castsi256_ps(live));
        _mm256_maskstore_ps(v + j, live, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    return lq_hsum8_ps(vsum);
}

#endif
