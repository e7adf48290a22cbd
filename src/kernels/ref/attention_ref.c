/* Portable single-query attention: the specification for the SIMD version. */
#include "kernels/attention.h"

#include <math.h>

void lq_attn_row_f32_ref(float *out, const float *q, const float *K, const float *V, int P, int hd, int stride,
                         float scale, float *scores) {
    float mx = -INFINITY;
    for (int j = 0; j < P; j++) {
        const float *k = K + (size_t)j * stride;
        float s = 0.0f;
        for (int i = 0; i < hd; i++) s += q[i] * k[i];
        scores[j] = s * scale;
        mx = scores[j] > mx ? scores[j] : mx;
    }
    double sum = 0.0;
    for (int j = 0; j < P; j++) {
        scores[j] = expf(scores[j] - mx);
        sum += scores[j];
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < hd; i++) out[i] = 0.0f;
    for (int j = 0; j < P; j++) {
        const float *v = V + (size_t)j * stride;
        float p = scores[j] * inv;
        for (int i = 0; i < hd; i++) out[i] += p * v[i];
    }
}

size_t lq_attn_causal_scratch(int hd, int P) { return (size_t)(hd + 4) * (size_t)((P + 15) & ~15); }

void lq_attn_causal_ref(float *out, const float *q, const float *K, const float *V, int T, int pos, int hd, int qs,
                        int ks, float *scratch) {
    const float scale = 1.0f / sqrtf((float)hd);
    for (int t = 0; t < T; t++)
        lq_attn_row_f32_ref(out + (size_t)t * qs, q + (size_t)t * qs, K, V, pos + t + 1, hd, ks, scale, scratch);
}
