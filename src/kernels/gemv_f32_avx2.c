/* AVX2+FMA GEMV over float weights: two rows at a time, two accumulators per
 * row to hide FMA latency. Memory-bound for matrices beyond the cache. */
#include "kernels/matmul.h"

#include <immintrin.h>

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static float dot_row(const float *w, const float *x, int in) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= in; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    }
    float s = hsum256(_mm256_add_ps(a0, a1));
    for (; i < in; i++) s += w[i] * x[i];
    return s;
}

void lq_gemv_f32_avx2(float *y, const float *x, const float *W, int in, int r0, int r1) {
    for (int r = r0; r < r1; r++) y[r] = dot_row(W + (size_t)r * in, x, in);
}
