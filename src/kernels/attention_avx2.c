/* AVX2 single-query attention over an F32 or F16 cache (head size a
 * multiple of 8, up to 256), whole rows or position chunks (attention.h),
 * the plan of attention_avx512.c eight lanes wide: scores 8 keys at a time,
 * each key's 8 partial sums folded with the other keys' by a transpose-and-add
 * tree; the softmax through the vector exp of vexp_avx2.h. Within the tests'
 * limit of a double reference, not bit-equal to the scalar reference. */
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

/* The cache's rows of one head are short and `stride` apart (the other
 * heads between them), a pattern the hardware prefetchers follow late.
 * A prefetch past the end of the cache is harmless. */
static inline __attribute__((always_inline)) void prefetch_row(const char *row, int hd, bool half) {
    for (int at = 0; at < hd * (half ? 2 : 4); at += 64) _mm_prefetch(row + at, _MM_HINT_T0);
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

/* Scaled scores of keys 0..P-1 into scores; returns their maximum. */
static inline __attribute__((always_inline)) float scores_max(float *scores, const float *q, const char *K, int P,
                                                              int hd, size_t stride, float scale, bool half) {
    const int nv = hd / 8;
    __m256 qv[32];
    for (int b = 0; b < nv; b++) qv[b] = _mm256_loadu_ps(q + 8 * b);
    __m256 vmx = _mm256_set1_ps(-INFINITY);
    const __m256 vs = _mm256_set1_ps(scale);
    int j = 0;
    for (; j + 8 <= P; j += 8) {
        /* the 8 keys' chains interleaved (each in the order of key_partials) */
        const char *k = K + (size_t)j * stride;
        __m256 part[8];
        for (int t = 0; t < 8; t++) {
            prefetch_row(k + (size_t)(t + 16) * stride, hd, half);
            part[t] = _mm256_mul_ps(load8(k + t * stride, 0, half), qv[0]);
        }
        for (int b = 1; b < nv; b++)
            for (int t = 0; t < 8; t++) part[t] = _mm256_fmadd_ps(load8(k + t * stride, b, half), qv[b], part[t]);
        const __m256 sc = _mm256_mul_ps(reduce8_ps(part), vs);
        _mm256_storeu_ps(scores + j, sc);
        vmx = _mm256_max_ps(vmx, sc);
    }
    float mx = lq_hmax8_ps(vmx);
    for (; j < P; j++) {
        scores[j] = lq_hsum8_ps(key_partials(K + (size_t)j * stride, qv, nv, half)) * scale;
        mx = scores[j] > mx ? scores[j] : mx;
    }
    return mx;
}

/* softmax numerators exp(score - mx) in place; returns their sum */
static inline float exp_sum(float *scores, int P, float mx) {
    const __m256 m = _mm256_set1_ps(mx);
    __m256 vsum = _mm256_setzero_ps();
    for (int j = 0; j < P; j += 8) {
        const __m256i live = lq_live8((size_t)(P - j));
        const __m256 e = _mm256_and_ps(lq_exp_le0_avx2(_mm256_sub_ps(_mm256_maskload_ps(scores + j, live), m)),
                                       _mm256_castsi256_ps(live));
        _mm256_maskstore_ps(scores + j, live, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    return lq_hsum8_ps(vsum);
}

/* vectors b0..b0+w-1 of the weighted sum of V rows; w is 8 but in a
 * head size's last slab, so that the accumulators stay in registers */
static inline __attribute__((always_inline)) void weigh_slab(float *out, const float *scores, float inv,
                                                             const char *V, int P, int hd, size_t stride, int b0,
                                                             int w, bool half, bool normalize) {
    __m256 acc[8];
    for (int b = 0; b < w; b++) acc[b] = _mm256_setzero_ps();
    for (int j = 0; j < P; j++) {
        const char *v = V + (size_t)j * stride;
        if (b0 == 0) prefetch_row(v + 8 * stride, hd, half);
        const __m256 p = _mm256_set1_ps(normalize ? scores[j] * inv : scores[j]);
        for (int b = 0; b < w; b++) acc[b] = _mm256_fmadd_ps(p, load8(v, b0 + b, half), acc[b]);
    }
    for (int b = 0; b < w; b++) _mm256_storeu_ps(out + 8 * (b0 + b), acc[b]);
}

/* out (hd) = sum over keys of weight * V row; weight = scores[j] * inv, or
 * scores[j] itself where !normalize */
static inline __attribute__((always_inline)) void weigh_values(float *out, const float *scores, float inv,
                                                               const char *V, int P, int hd, size_t stride,
                                                               bool half, bool normalize) {
    const int nv = hd / 8;
    int b0 = 0;
    for (; b0 + 8 <= nv; b0 += 8) weigh_slab(out, scores, inv, V, P, hd, stride, b0, 8, half, normalize);
    if (b0 < nv) weigh_slab(out, scores, inv, V, P, hd, stride, b0, nv - b0, half, normalize);
}

/* One body for both caches: `half` is a constant in each caller. stride in bytes. */
static inline __attribute__((always_inline)) void attn_row(float *out, const float *q, const char *K,
                                                           const char *V, int P, int hd, size_t stride,
                                                           float scale, float *scores, bool half) {
    const float mx = scores_max(scores, q, K, P, hd, stride, scale, half);
    const float inv = 1.0f / exp_sum(scores, P, mx);
    weigh_values(out, scores, inv, V, P, hd, stride, half, true);
}

static inline __attribute__((always_inline)) void attn_part(float *o, float *ml, const float *q, const char *K,
                                                            const char *V, int n, int hd, size_t stride,
                                                            float scale, float *scores, bool half) {
    ml[0] = scores_max(scores, q, K, n, hd, stride, scale, half);
    ml[1] = exp_sum(scores, n, ml[0]);
    weigh_values(o, scores, 1.0f, V, n, hd, stride, half, false);
}

/* G heads over one chunk; the chunk is in cache after the first head
 * (converting an F16 chunk once for all heads measured slower: the
 * conversions are not the cost). The common head size as a constant: its
 * loops unrolled, q in registers. */
static inline __attribute__((always_inline)) void part_heads(float *o, float *ml, const float *q, int G,
                                                             const void *K, const void *V, int n, int hd,
                                                             size_t stride, float scale, float *scratch, bool half) {
    if (hd % 8 || hd > 256) {
        (half ? lq_attn_part_f16_ref : lq_attn_part_f32_ref)(o, ml, q, G, K, V, n, hd, stride, scale, scratch);
        return;
    }
    for (int g = 0; g < G; g++) {
        float *og = o + (size_t)g * hd, *mlg = ml + 2 * g;
        const float *qg = q + (size_t)g * hd;
        if (hd == 64) attn_part(og, mlg, qg, K, V, n, 64, stride, scale, scratch, half);
        else attn_part(og, mlg, qg, K, V, n, hd, stride, scale, scratch, half);
    }
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

void lq_attn_part_f32_avx2(float *o, float *ml, const float *q, int G, const void *K, const void *V, int n, int hd,
                           size_t stride, float scale, float *scratch) {
    part_heads(o, ml, q, G, K, V, n, hd, stride, scale, scratch, false);
}

void lq_attn_part_f16_avx2(float *o, float *ml, const float *q, int G, const void *K, const void *V, int n, int hd,
                           size_t stride, float scale, float *scratch) {
    part_heads(o, ml, q, G, K, V, n, hd, stride, scale, scratch, true);
}
