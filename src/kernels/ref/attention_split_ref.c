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

static void part(float *o, float *ml, const float *q, const void *K, const void *V, int n, int hd, size_t stride,
                 float scale, float *scores, bool half) {
    float mx = -INFINITY;
    for (int j = 0; j < n; j++) {
        const char *k = (const char *)K + (size_t)j * stride;
        float s = 0.0f;
        for (int i = 0; i < hd; i++) s += q[i] * value_at(k, i, half);
        scores[j] = s * scale;
        mx = scores[j] > mx ? scores[j] : mx;
    }
    float sum = 0.0f;
    for (int j = 0; j < n; j++) sum += scores[j] = expf(scores[j] - mx);
    for (int i = 0; i < hd; i++) o[i] = 0.0f;
    for (int j = 0; j < n; j++) {
        const char *v = (const char *)V + (size_t)j * stride;
        for (int i = 0; i < hd; i++) o[i] += scores[j] * value_at(v, i, half);
    }
    ml[0] = mx, ml[1] = sum;
}

static void heads(float *o, float *ml, const float *q, int G, const void *K, const void *V, int n, int hd,
                  size_t stride, float scale, float *scores, bool half) {
    for (int g = 0; g < G; g++)
        part(o + (size_t)g * hd, ml + 2 * g, q + (size_t)g * hd, K, V, n, hd, stride, scale, scores, half);
}

void lq_attn_part_f32_ref(float *o, float *ml, const float *q, int G, const void *K, const void *V, int n, int hd,
                          size_t stride, float scale, float *scratch) {
    heads(o, ml, q, G, K, V, n, hd, stride, scale, scratch, false);
}

void lq_attn_part_f16_ref(float *o, float *ml, const float *q, int G, const void *K, const void *V, int n, int hd,
                          size_t stride, float scale, float *scratch) {
    heads(o, ml, q, G, K, V, n, hd, stride, scale, scratch, true);
}

/* Q8 cache: each head's query quantized as a cache row, the scores of
 * lq_attn_scores_q8_ref, values as lq_attn_row_q8_ref weighs them */
void lq_attn_part_q8_ref(float *o, float *ml, const float *q, int G, const void *K, const void *V, int n, int hd,
                         size_t stride, float scale, float *scratch) {
    float qrow[(1024 + 3) / 4 + 1024 / 32]; /* lq_kv_q8_bytes(1024) as floats: the largest head */
    const int nb = (hd + 31) / 32;
    for (int g = 0; g < G; g++) {
        float *og = o + (size_t)g * hd, mx = -INFINITY, sum = 0.0f;
        lq_kv_q8_quantize(qrow, q + (size_t)g * hd, hd);
        lq_attn_scores_q8_ref(scratch, qrow, K, n, hd, stride, scale);
        for (int j = 0; j < n; j++) mx = scratch[j] > mx ? scratch[j] : mx;
        for (int j = 0; j < n; j++) sum += scratch[j] = expf(scratch[j] - mx);
        for (int i = 0; i < hd; i++) og[i] = 0.0f;
        for (int j = 0; j < n; j++) {
            const float *dv = (const float *)((const char *)V + (size_t)j * stride);
            const int8_t *vq = (const int8_t *)(dv + nb);
            for (int b = 0; b < nb; b++) {
                const float w = scratch[j] * dv[b];
                for (int i = b * 32; i < hd && i < (b + 1) * 32; i++) og[i] += w * (float)vq[i];
            }
        }
        ml[2 * g] = mx, ml[2 * g + 1] = sum;
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
