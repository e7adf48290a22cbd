/* AVX2 single-query attention over an F32 or F16 cache (head size a
 * multiple of 8, up to 256), the plan of attention_avx512.c eight lanes
 * wide: scores 8 keys at a time, each key's 8 partial sums folded with the
 * other keys' by a transpose-and-add tree; the softmax through the vector
 * exp of vexp_avx2.h. Within the tests' limit of a double reference, not
 * bit-equal to the scalar reference. */
#include "kernels/attention.h"
#include "kernels/simd_avx2.h"
#include "kernels/vexp_avx2.h"

#include <immintrin.h>
#include <math.h>
#include <stdbool.h>

/* 8 values of a K or V row, F16 (converted) or F32 */
static inline __attribute__((always_inline)) __m256 load8(const char *row, int b, bool half) {
    if (half) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 16 * b)));
    return _mm256_loadu_ps((const float *)row + 8 * b);
}

/* a[j] holds 8 partial sums of key j; returns the 8 totals, key j in lane j */
static inline __m256 reduce8_ps(const __m256 *a) {
    const __m256 b0 = _mm256_add_ps(_mm256_unpacklo_ps(a[0], a[1]), _mm256_unpackhi_ps(a[0], a[1]));
    const __m256 b1 = _mm256_add_ps(_mm256_unpacklo_ps(a[2], a[3]), _mm256_unpackhi_ps(a[2], a[3]));
    const __m256 b2 = _mm256_add_ps(_mm256_unpacklo_ps(a[4], a[5]), _mm256_unpackhi_ps(a[4], a[5]));
    const __m256 b3 = _mm256_add_ps(_mm256_unpacklo_ps(a[6], a[7]), _mm256_unpackhi_ps(a[6], a[7]));
    /* per 128-bit lane: keys 0..3 (c0) and 4..7 (c1), one partial each */
    const __m256 c0 = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(b0), _mm256_castps_pd(b1))),
                                    _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(b0), _mm256_castps_pd(b1))));
    const __m256 c1 = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(b2), _mm256_castps_pd(b3))),
                                    _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(b2), _mm256_castps_pd(b3))));
    return _mm256_add_ps(_mm256_permute2f128_ps(c0, c1, 0x20), _mm256_permute2f128_ps(c0, c1, 0x31));
}

static inline __attribute__((always_inline)) __m256 key_partials(const char *k, const __m256 *qv, int nv, bool half) {
    __m256 s = _mm256_mul_ps(load8(k, 0, half), qv[0]);
    for (int b = 1; b < nv; b++) s = _mm256_fmadd_ps(load8(k, b, half), qv[b], s);
    return s;
}

/* One body for both caches: `half` is a constant in each caller. stride in bytes. */
static inline __attribute__((always_inline)) void attn_row(float *out, const float *q, const char *K,
                                                           const char *V, int P, int hd, size_t stride,
                                                           float scale, float *scores, bool half) {
    const int nv = hd / 8;
    __m256 qv[32], acc[32];
    for (int b = 0; b < nv; b++) qv[b] = _mm256_loadu_ps(q + 8 * b);
    __m256 vmx = _mm256_set1_ps(-INFINITY);
    const __m256 vs = _mm256_set1_ps(scale);
    int j = 0;
    for (; j + 8 <= P; j += 8) {
        __m256 part[8];
        for (int t = 0; t < 8; t++) part[t] = key_partials(K + (size_t)(j + t) * stride, qv, nv, half);
        const __m256 sc = _mm256_mul_ps(reduce8_ps(part), vs);
        _mm256_storeu_ps(scores + j, sc);
        vmx = _mm256_max_ps(vmx, sc);
    }
    float mx = lq_hmax8_ps(vmx);
    for (; j < P; j++) {
        scores[j] = lq_hsum8_ps(key_partials(K + (size_t)j * stride, qv, nv, half)) * scale;
        mx = scores[j] > mx ? scores[j] : mx;
    }
    /* softmax numerators in place, 1 / their sum */
    const __m256 m = _mm256_set1_ps(mx);
    __m256 vsum = _mm256_setzero_ps();
    for (j = 0; j < P; j += 8) {
        const __m256i live = lq_live8((size_t)(P - j));
        const __m256 e = _mm256_and_ps(lq_exp_le0_avx2(_mm256_sub_ps(_mm256_maskload_ps(scores + j, live), m)),
                                       _mm256_castsi256_ps(live));
        _mm256_maskstore_ps(scores + j, live, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    const float inv = 1.0f / lq_hsum8_ps(vsum);
    for (int b = 0; b < nv; b++) acc[b] = _mm256_setzero_ps();
    for (j = 0; j < P; j++) {
        const char *v = V + (size_t)j * stride;
        const __m256 p = _mm256_set1_ps(scores[j] * inv);
        for (int b = 0; b < nv; b++) acc[b] = _mm256_fmadd_ps(p, load8(v, b, half), acc[b]);
    }
    for (int b = 0; b < nv; b++) _mm256_storeu_ps(out + 8 * b, acc[b]);
}

void lq_attn_row_f32_avx2(float *out, const float *q, const float *K, const float *V, int P, int hd, int stride,
                          float scale, float *scores) {
    if (hd % 8 || hd > 256) {
        lq_attn_row_f32_ref(out, q, K, V, P, hd, stride, scale, scores);
        return;
    }
    attn_row(out, q, (const char *)K, (const char *)V, P, hd, (size_t)stride * sizeof(float), scale, scores, false);
}

void lq_attn_row_f16_avx2(float *out, const float *q, const void *K, const void *V, int P, int hd, size_t stride,
                          float scale, float *scores) {
    if (hd % 8 || hd > 256) {
        lq_attn_row_f16_ref(out, q, K, V, P, hd, stride, scale, scores);
        return;
    }
    attn_row(out, q, K, V, P, hd, stride, scale, scores, true);
}
