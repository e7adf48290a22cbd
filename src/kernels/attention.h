/* Attention of one query over P cached keys for one head: the generation
 * step's inner loop. K and V rows are `stride` apart (the KV cache
 * interleaves heads): floats for the F32 cache, bytes for the others. */
#ifndef LQ_ATTENTION_H
#define LQ_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

// out (hd) = softmax(scale * K (P, hd) . q (hd)) . V (P, hd); scores: scratch (P)
typedef void (*lq_attn_row_fn)(float *out, const float *q, const float *K, const float *V, int P, int hd,
                               int stride, float scale, float *scores);
void lq_attn_row_f32_ref(float *out, const float *q, const float *K, const float *V, int P, int hd, int stride,
                         float scale, float *scores);
/* hd a multiple of 16 (AVX2: 8) up to 256; other sizes fall back to the reference. */
void lq_attn_row_f32_avx2(float *out, const float *q, const float *K, const float *V, int P, int hd, int stride,
                          float scale, float *scores);
void lq_attn_row_f32_avx512(float *out, const float *q, const float *K, const float *V, int P, int hd, int stride,
                            float scale, float *scores);

/* Generation's attention in chunks of LQ_ATTN_CHUNK positions, so that
 * threads share the keys of a long cache evenly and the G query heads of
 * one KV head (GQA) read it from memory once (the later heads from cache). Over the n keys of one chunk
 * (rows `stride` bytes apart, F32, F16 or Q8), for query head g of G (q: G rows
 * of hd floats; for the Q8 cache G rows as lq_kv_q8_quantize writes them,
 * lq_kv_q8_bytes(hd) apart, quantized once per token rather than per
 * chunk): ml[2g] = m, the largest score; ml[2g + 1] = sum of exp(score - m);
 * o + g * hd (hd) = sum of exp(score - m) * v. scratch: lq_attn_part_scratch
 * floats. lq_attn_merge then gives a head's output from its n_chunks
 * chunks, whose o rows are `apart` rows of hd apart (ml pairs `apart`
 * pairs): the same for any number of threads. */
enum { LQ_ATTN_CHUNK = 64 };
typedef void (*lq_attn_part_fn)(float *o, float *ml, const void *q, int G, const void *K, const void *V, int n,
                                int hd, size_t stride, float scale, float *scratch);
static inline size_t lq_attn_part_scratch(int n) { return (size_t)n; }
void lq_attn_part_f32_ref(float *o, float *ml, const void *q, int G, const void *K, const void *V, int n, int hd,
                          size_t stride, float scale, float *scratch);
void lq_attn_part_f16_ref(float *o, float *ml, const void *q, int G, const void *K, const void *V, int n, int hd,
                          size_t stride, float scale, float *scratch);
/* hd a multiple of 8 up to 256 (else the reference) */
void lq_attn_part_f32_avx2(float *o, float *ml, const void *q, int G, const void *K, const void *V, int n, int hd,
                           size_t stride, float scale, float *scratch);
void lq_attn_part_f16_avx2(float *o, float *ml, const void *q, int G, const void *K, const void *V, int n, int hd,
                           size_t stride, float scale, float *scratch);
/* Q8 cache (rows as below): scores as lq_attn_scores_q8_ref (AVX2: bit for
 * bit; head sizes a multiple of 32 up to 256, else the reference), values
 * weighed as lq_kv_q8_axpy */
void lq_attn_part_q8_ref(float *o, float *ml, const void *q, int G, const void *K, const void *V, int n, int hd,
                         size_t stride, float scale, float *scratch);
void lq_attn_part_q8_avx2(float *o, float *ml, const void *q, int G, const void *K, const void *V, int n, int hd,
                          size_t stride, float scale, float *scratch);
void lq_attn_merge(float *out, const float *o, const float *ml, int n_chunks, int hd, size_t apart);

/* Causal attention of one head over a prompt: query t of T (q + t * qs, its
 * output out + t * qs) at position pos + t sees keys and values 0..pos + t
 * (rows ks floats apart); scale 1 / sqrt(hd). scratch: at least
 * lq_attn_causal_scratch(hd, pos + T) floats. The AVX-512 version needs hd a
 * multiple of 16 up to 64 (lq_attn_causal_ok). */
typedef void (*lq_attn_causal_fn)(float *out, const float *q, const float *K, const float *V, int T, int pos, int hd,
                                  int qs, int ks, float *scratch);
size_t lq_attn_causal_scratch(int hd, int P);
static inline int lq_attn_causal_ok(int hd) { return hd % 16 == 0 && hd > 0 && hd <= 64; }
void lq_attn_causal_ref(float *out, const float *q, const float *K, const float *V, int T, int pos, int hd, int qs,
                        int ks, float *scratch);
void lq_attn_causal_avx512(float *out, const float *q, const float *K, const float *V, int T, int pos, int hd,
                           int qs, int ks, float *scratch);

/* ------------------------------------------------ F16 and Q8 KV caches
 *
 * F16: one head's row is hd IEEE halves. Q8: one head's row (lq_kv_q8_bytes)
 * is ceil(hd/32) float scales, then hd int8 codes (padded to a multiple of
 * 4 bytes so the next head's scales stay aligned); block b holds values
 * 32b..32b+31 (the last block may be short), value = d[b] * code, codes in
 * [-127, 127]. */
size_t lq_kv_q8_bytes(int hd);
/* d = max|x| / 127 per block, code = round(x / d) (half away from zero). */
void lq_kv_q8_quantize(void *row, const float *x, int hd);
void lq_kv_q8_dequantize(float *x, const void *row, int hd);
/* out (hd) += w * the row's values, each block's scale folded into the
 * weight first (w * d, then times the code): how the reference attention
 * weighs a V row */
void lq_kv_q8_axpy(float *out, float w, const void *row, int hd);

/* The same contract as lq_attn_row_fn over an F16 or Q8 cache; stride in
 * bytes. */
typedef void (*lq_attn_row_kv_fn)(float *out, const float *q, const void *K, const void *V, int P, int hd,
                                  size_t stride, float scale, float *scores);

/* F16: K and V converted to float as they are read. AVX-512: hd a multiple of
 * 16 up to 256 (else the reference). */
void lq_attn_row_f16_ref(float *out, const float *q, const void *K, const void *V, int P, int hd, size_t stride,
                         float scale, float *scores);
void lq_attn_row_f16_avx2(float *out, const float *q, const void *K, const void *V, int P, int hd, size_t stride,
                          float scale, float *scores);
void lq_attn_row_f16_avx512(float *out, const float *q, const void *K, const void *V, int P, int hd,
                            size_t stride, float scale, float *scores);

/* Q8 (hd up to 1024, the loader's limit): the query is quantized as a Q8
 * row (its own scales), each score is
 * scale * sum_b (dq_b * dk_b) * (integer dot of block b), summed in block
 * order; V is dequantized on the fly into the weighted sum. AVX-512 (VNNI
 * vpdpbusd): hd up to 256 (else the reference). */
void lq_attn_row_q8_ref(float *out, const float *q, const void *K, const void *V, int P, int hd, size_t stride,
                        float scale, float *scores);
void lq_attn_row_q8_avx512(float *out, const float *q, const void *K, const void *V, int P, int hd, size_t stride,
                           float scale, float *scores);
/* The scores alone (before the softmax), the row functions' first step;
 * both give the same bits. qrow: the query as lq_kv_q8_quantize writes it. */
void lq_attn_scores_q8_ref(float *scores, const void *qrow, const void *K, int P, int hd, size_t stride,
                           float scale);
void lq_attn_scores_q8_avx512(float *scores, const void *qrow, const void *K, int P, int hd, size_t stride,
                              float scale);

#endif
