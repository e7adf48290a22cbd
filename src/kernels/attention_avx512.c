/* AVX-512 single-query attention (head size a multiple of 16). */
#include "kernels/attention.h"

#include <immintrin.h>
#include <math.h>

void lq_attn_row_f32_avx512(float *out, const float *q, const float *K, const float *V, int P, int hd, int stride,
                            float scale, float *scores) {
    if (hd % 16 || hd > 256) {
        lq_attn_row_f32_ref(out, q, K, V, P, hd, stride, scale, scores);
        return;
    }
    int nv = hd / 16;
    __m512 qv[16], acc[16];
    for (int b = 0; b < nv; b++) qv[b] = _mm512_loadu_ps(q + 16 * b);
    float mx = -INFINITY;
    for (int j = 0; j < P; j++) {
        const float *k = K + (size_t)j * stride;
        __m512 s = _mm512_mul_ps(_mm512_loadu_ps(k), qv[0]);
        for (int b = 1; b < nv; b++) s = _mm512_fmadd_ps(_mm512_loadu_ps(k + 16 * b), qv[b], s);
        scores[j] = _mm512_reduce_add_ps(s) * scale;
        mx = scores[j] > mx ? scores[j] : mx;
    }
    double sum = 0.0;
    for (int j = 0; j < P; j++) {
        scores[j] = expf(scores[j] - mx);
        sum += scores[j];
    }
    float inv = (float)(1.0 / sum);
    for (int b = 0; b < nv; b++) acc[b] = _mm512_setzero_ps();
    for (int j = 0; j < P; j++) {
        const float *v = V + (size_t)j * stride;
        __m512 p = _mm512_set1_ps(scores[j] * inv);
        for (int b = 0; b < nv; b++) acc[b] = _mm512_fmadd_ps(p, _mm512_loadu_ps(v + 16 * b), acc[b]);
    }
    for (int b = 0; b < nv; b++) _mm512_storeu_ps(out + 16 * b, acc[b]);
}
