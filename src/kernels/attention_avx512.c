/* AVX-512 single-query attention over an F32 or F16 cache (head size a
 * multiple of 16).
 *
 * Scores go 16 keys at a time: each key's 16 partial sums are folded with
 * the other keys' by a transpose-and-add tree, so one vector holds 16 scores
 * (instead of one horizontal reduction per key). The softmax uses a vector
 * exp (Cephes' expf polynomial with the 2^n step done by vscalefps, within
 * 2 ulp of expf). The result stays within the tests' limit of a double
 * reference, not bit-equal to the scalar reference. */
#include "kernels/attention.h"
#include "kernels/attn_avx512.h"

#include <immintrin.h>
#include <math.h>
#include <stdbool.h>

/* 16 values of a K or V row, F16 (converted) or F32 */
static inline __attribute__((always_inline)) __m512 load16(const char *row, int b, bool half) {
    if (half) return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + 32 * b)));
    return _mm512_loadu_ps((const float *)row + 16 * b);
}

/* One body for both caches: `half` is a constant in each caller, so each
 * gets its own code. stride in bytes. */
static inline __attribute__((always_inline)) void attn_row(float *out, const float *q, const char *K,
                                                           const char *V, int P, int hd, size_t stride,
                                                           float scale, float *scores, bool half) {
    int nv = hd / 16;
    __m512 qv[16], acc[16];
    for (int b = 0; b < nv; b++) qv[b] = _mm512_loadu_ps(q + 16 * b);
    __m512 vmx = _mm512_set1_ps(-INFINITY), vs = _mm512_set1_ps(scale);
    int j = 0;
    for (; j + 16 <= P; j += 16) {
        __m512 part[16];
        for (int t = 0; t < 16; t++) {
            const char *k = K + (size_t)(j + t) * stride;
            __m512 s = _mm512_mul_ps(load16(k, 0, half), qv[0]);
            for (int b = 1; b < nv; b++) s = _mm512_fmadd_ps(load16(k, b, half), qv[b], s);
            part[t] = s;
        }
        __m512 sc = _mm512_mul_ps(lq_attn_reduce16(part), vs);
        _mm512_storeu_ps(scores + j, sc);
        vmx = _mm512_max_ps(vmx, sc);
    }
    float mx = _mm512_reduce_max_ps(vmx);
    for (; j < P; j++) {
        const char *k = K + (size_t)j * stride;
        __m512 s = _mm512_mul_ps(load16(k, 0, half), qv[0]);
        for (int b = 1; b < nv; b++) s = _mm512_fmadd_ps(load16(k, b, half), qv[b], s);
        scores[j] = _mm512_reduce_add_ps(s) * scale;
        mx = scores[j] > mx ? scores[j] : mx;
    }
    float inv = lq_attn_softmax_avx512(scores, P, mx);
    for (int b = 0; b < nv; b++) acc[b] = _mm512_setzero_ps();
    for (j = 0; j < P; j++) {
        const char *v = V + (size_t)j * stride;
        __m512 p = _mm512_set1_ps(scores[j] * inv);
        for (int b = 0; b < nv; b++) acc[b] = _mm512_fmadd_ps(p, load16(v, b, half), acc[b]);
    }
    for (int b = 0; b < nv; b++) _mm512_storeu_ps(out + 16 * b, acc[b]);
}

void lq_attn_row_f32_avx512(float *out, const float *q, const float *K, const float *V, int P, int hd, int stride,
                            float scale, float *scores) {
    if (hd % 16 || hd > 256) {
        lq_attn_row_f32_ref(out, q, K, V, P, hd, stride, scale, scores);
        return;
    }
    attn_row(out, q, (const char *)K, (const char *)V, P, hd, (size_t)stride * sizeof(float), scale, scores, false);
}

void lq_attn_row_f16_avx512(float *out, const float *q, const void *K, const void *V, int P, int hd,
                            size_t stride, float scale, float *scores) {
    if (hd % 16 || hd > 256) {
        lq_attn_row_f16_ref(out, q, K, V, P, hd, stride, scale, scores);
        return;
    }
    attn_row(out, q, K, V, P, hd, stride, scale, scores, true);
}
