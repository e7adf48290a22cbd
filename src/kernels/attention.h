/* Attention of one query over P cached keys for one head: the generation
 * step's inner loop. K and V rows are `stride` floats apart (the KV cache
 * interleaves heads). */
#ifndef LQ_ATTENTION_H
#define LQ_ATTENTION_H

#include <stddef.h>

// out (hd) = softmax(scale * K (P, hd) . q (hd)) . V (P, hd); scores: scratch (P)
typedef void (*lq_attn_row_fn)(float *out, const float *q, const float *K, const float *V, int P, int hd,
                               int stride, float scale, float *scores);
void lq_attn_row_f32_ref(float *out, const float *q, const float *K, const float *V, int P, int hd, int stride,
                         float scale, float *scores);
/* hd a multiple of 16; other sizes fall back to the reference. */
void lq_attn_row_f32_avx512(float *out, const float *q, const float *K, const float *V, int P, int hd, int stride,
                            float scale, float *scores);

#endif
