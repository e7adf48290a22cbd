/* Generation's attention in position chunks (see attention.h): the portable
 * chunk kernel, the specification for the SIMD ones, and the merge all ISAs
 * share. */
#include "kernels/attention.h"
#include "quant/types.h"

#include <math.h>
#include <stdbool.h>

static float value_at(const void *row, int i, bool half) {
    return half ? lq_fp16_to_fp32(((const uint16_t *)row)[i]) : ((const float *)row)[i];
}

/* scores[0..n) -> exp(s - m) in place; ml = (m, their float sum) */
static void exp_shift(float *scores, int n, float *ml) {
    float mx = -INFINITY, sum = 0.0f;
    for (int j = 0; j < n; j++) mx = scores[j] > mx ? scores[j] : mx;
    for (int j = 0; j < n; j++) sum += scores[j] = expf(scores[j] - mx);
    ml[0] = mx, ml[1] = sum;
}

static void part(float *o, float *ml, const float *q, const void *K, const void *V, int n, int hd, size_t stride,
                 float scale, float *scores, bool half) {
    for (int j = 0; j < n; j++) {
        const char *k = (const char *)K + (size_t)j * stride;
        float s = 0.0f;
        for (int i = 0; i < hd; i++) s += q[i] * value_at(k, i, half);
        scores[j] = s * scale;
    }
    exp_shift(scores, n, ml);
    for (int i = 0; i < hd; i++) o[i] = 0.0f;
    for (int j = 0; j < n; j++) {
        const char *v = (const char *)V + (size_t)j * stride;
        for (int i = 0; i < hd; i++) o[i] += scores[j] * value_at(v, i, half);
    }
}

static void heads(float *o, float *ml, const float *q, int G, const void *K, const void *V, int n, int hd,
                  size_t stride, float scale, float *scores, bool half) {
    for (int g = 0; g < G; g++)
        part(o + (size_t)g * hd, ml + 2 * g, q + (size_t)g * hd, K, V, n, hd, stride, scale, scores, half);
}

void lq_attn_part_f32_ref(float *o, float *ml, const void *q, int G, const void *K, const void *V, int n, int hd,
                          size_t stride, float scale, float *scratch) {
    heads(o, ml, q, G, K, V, n, hd, stride, scale, scratch, false);
}

void lq_attn_part_f16_ref(float *o, float *ml, const void *q, int G, const void *K, const void *V, int n, int hd,
                          size_t stride, float scale, float *scratch) {
    heads(o, ml, q, G, K, V, n, hd, stride, scale, scratch, true);
}

/* Q8 cache: the queries already quantized (attention.h) */
void lq_attn_part_q8_ref(float *o, float *ml, const void *q, int G, const void *K, const void *V, int n, int hd,
                         size_t stride, float scale, float *scratch) {
    for (int g = 0; g < G; g++) {
        float *og = o + (size_t)g * hd;
        lq_attn_scores_q8_ref(scratch, (const char *)q + (size_t)g * lq_kv_q8_bytes(hd), K, n, hd, stride, scale);
        exp_shift(scratch, n, ml + 2 * g);
        for (int i = 0; i < hd; i++) og[i] = 0.0f;
        for (int j = 0; j < n; j++) lq_kv_q8_axpy(og, scratch[j], (const char *)V + (size_t)j * stride, hd);
    }
}

void lq_attn_merge(float *out, const float *o, const float *ml, int n_chunks, int hd, size_t apart) {
    float mx = -INFINITY;
    for (int c = 0; c < n_chunks; c++) mx = ml[2 * c * apart] > mx ? ml[2 * c * apart] : mx;
    float sum = 0.0f;
    for (int i = 0; i < hd; i++) out[i] = 0.0f;
    for (int c = 0; c < n_chunks; c++) {
        const float w = expf(ml[2 * c * apart] - mx);
        sum += w * ml[2 * c * apart + 1];
        for (int i = 0; i < hd; i++) out[i] += w * o[c * apart * hd + i];
    }
    const float inv = 1.0f / sum;
    for (int i = 0; i < hd; i++) out[i] *= inv;
}
