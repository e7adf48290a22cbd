/* Portable single-query attention over F16 and Q8 KV caches, and the Q8 row
 * format itself: the specification for the SIMD versions. */
#include "kernels/attention.h"
#include "quant/types.h"

#include <math.h>
#include <string.h>

#define QB 32 /* values per Q8 block */

size_t lq_kv_q8_bytes(int hd) { return (size_t)(hd + QB - 1) / QB * sizeof(float) + (size_t)((hd + 3) & ~3); }

void lq_kv_q8_quantize(void *row, const float *x, int hd) {
    int nb = (hd + QB - 1) / QB;
    float *d = row;
    int8_t *qs = (int8_t *)(d + nb);
    for (int b = 0; b < nb; b++) {
        int n = hd - b * QB < QB ? hd - b * QB : QB;
        const float *xb = x + b * QB;
        float amax = 0.0f;
        for (int i = 0; i < n; i++) amax = fabsf(xb[i]) > amax ? fabsf(xb[i]) : amax;
        d[b] = amax / 127.0f;
        float id = d[b] != 0.0f ? 1.0f / d[b] : 0.0f;
        for (int i = 0; i < n; i++) qs[b * QB + i] = (int8_t)roundf(xb[i] * id);
    }
    memset(qs + hd, 0, (size_t)(((hd + 3) & ~3) - hd));
}

void lq_kv_q8_dequantize(float *x, const void *row, int hd) {
    const float *d = row;
    const int8_t *qs = (const int8_t *)(d + (hd + QB - 1) / QB);
    for (int i = 0; i < hd; i++) x[i] = d[i / QB] * (float)qs[i];
}

void lq_kv_q8_axpy(float *out, float w, const void *row, int hd) {
    const float *d = row;
    const int8_t *qs = (const int8_t *)(d + (hd + QB - 1) / QB);
    for (int b = 0; b * QB < hd; b++) {
        const float wb = w * d[b];
        for (int i = b * QB; i < hd && i < (b + 1) * QB; i++) out[i] += wb * (float)qs[i];
    }
}

/* scores[0..P) -> exp(s - max) in place; returns 1 / their sum */
static float softmax_unnormalized(float *scores, int P) {
    float mx = -INFINITY;
    for (int j = 0; j < P; j++) mx = scores[j] > mx ? scores[j] : mx;
    double sum = 0.0;
    for (int j = 0; j < P; j++) {
        scores[j] = expf(scores[j] - mx);
        sum += scores[j];
    }
    return (float)(1.0 / sum);
}

void lq_attn_row_f16_ref(float *out, const float *q, const void *K, const void *V, int P, int hd, size_t stride,
                         float scale, float *scores) {
    for (int j = 0; j < P; j++) {
        const uint16_t *k = (const uint16_t *)((const char *)K + (size_t)j * stride);
        float s = 0.0f;
        for (int i = 0; i < hd; i++) s += q[i] * lq_fp16_to_fp32(k[i]);
        scores[j] = s * scale;
    }
    float inv = softmax_unnormalized(scores, P);
    for (int i = 0; i < hd; i++) out[i] = 0.0f;
    for (int j = 0; j < P; j++) {
        const uint16_t *v = (const uint16_t *)((const char *)V + (size_t)j * stride);
        float p = scores[j] * inv;
        for (int i = 0; i < hd; i++) out[i] += p * lq_fp16_to_fp32(v[i]);
    }
}

void lq_attn_scores_q8_ref(float *scores, const void *qrow, const void *K, int P, int hd, size_t stride,
                           float scale) {
    int nb = (hd + QB - 1) / QB;
    const float *dq = qrow;
    const int8_t *qq = (const int8_t *)(dq + nb);
    for (int j = 0; j < P; j++) {
        const float *dk = (const float *)((const char *)K + (size_t)j * stride);
        const int8_t *kq = (const int8_t *)(dk + nb);
        float s = 0.0f;
        for (int b = 0; b < nb; b++) {
            int32_t isum = 0;
            for (int i = b * QB; i < hd && i < (b + 1) * QB; i++) isum += qq[i] * kq[i];
            s += (float)isum * (dq[b] * dk[b]);
        }
        scores[j] = s * scale;
    }
}

void lq_attn_row_q8_ref(float *out, const float *q, const void *K, const void *V, int P, int hd, size_t stride,
                        float scale, float *scores) {
    float qrow[(1024 + 3) / 4 + 1024 / QB]; /* lq_kv_q8_bytes(1024) as floats: the largest head */
    lq_kv_q8_quantize(qrow, q, hd);
    lq_attn_scores_q8_ref(scores, qrow, K, P, hd, stride, scale);
    float inv = softmax_unnormalized(scores, P);
    for (int i = 0; i < hd; i++) out[i] = 0.0f;
    for (int j = 0; j < P; j++) lq_kv_q8_axpy(out, scores[j] * inv, (const char *)V + (size_t)j * stride, hd);
}
