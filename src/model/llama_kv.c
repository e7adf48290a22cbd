/* The llama KV cache in its storage type: rows written from F32 and read
 * back as F32 (for prompts, whose attention runs through sgemm). */
#include "model/llama_internal.h"

#include "kernels/attention.h"
#include "quant/types.h"

#include <string.h>

size_t lq_kv_token_bytes(llmq_kv_type t, int n_head_kv, int hd) {
    switch (t) {
    case LLMQ_KV_F16: return (size_t)n_head_kv * hd * sizeof(uint16_t);
    case LLMQ_KV_Q8: return (size_t)n_head_kv * lq_kv_q8_bytes(hd);
    default: return (size_t)n_head_kv * hd * sizeof(float);
    }
}

void lq_kv_write(llmq_kv_type t, void *cache, int pos, const float *src, int T, int n_head_kv, int hd) {
    size_t row = lq_kv_token_bytes(t, n_head_kv, hd), n = (size_t)T * n_head_kv * hd;
    char *dst = (char *)cache + (size_t)pos * row;
    if (t == LLMQ_KV_F32) {
        memcpy(dst, src, n * sizeof(float));
    } else if (t == LLMQ_KV_F16) {
        uint16_t *h = (uint16_t *)dst;
        for (size_t i = 0; i < n; i++) h[i] = lq_fp32_to_fp16(src[i]);
    } else {
        size_t head = lq_kv_q8_bytes(hd);
        for (size_t r = 0; r < (size_t)T * n_head_kv; r++) lq_kv_q8_quantize(dst + r * head, src + r * hd, hd);
    }
}

void lq_kv_read(llmq_kv_type t, const void *cache, int P, float *dst, int n_head_kv, int hd) {
    size_t n = (size_t)P * n_head_kv * hd;
    if (t == LLMQ_KV_F32) {
        memcpy(dst, cache, n * sizeof(float));
    } else if (t == LLMQ_KV_F16) {
        const uint16_t *h = cache;
        for (size_t i = 0; i < n; i++) dst[i] = lq_fp16_to_fp32(h[i]);
    } else {
        size_t head = lq_kv_q8_bytes(hd);
        for (size_t r = 0; r < (size_t)P * n_head_kv; r++)
            lq_kv_q8_dequantize(dst + r * hd, (const char *)cache + r * head, hd);
    }
}
