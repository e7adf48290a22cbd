/* Vectorized pieces of the BERT forward pass (AVX-512; callers check
 * lq_bert_fast_ok() and keep the scalar code in bert_layers.c otherwise). */
#ifndef LQ_BERT_FAST_H
#define LQ_BERT_FAST_H

#include "kernels/i8mm.h"

#include <stdbool.h>
#include <stddef.h>

/* AVX-512 F present (and not turned off by LLMQ_ISA). */
bool lq_bert_fast_ok(void);

/* x (n) = x * Phi(x) with a vector erf (Abramowitz-Stegun 7.1.26, |error|
 * <= 1.5e-7 in erf). */
void lq_bert_gelu_avx512(float *x, size_t n);

/* One head of bidirectional attention where keys [0, Tk) are the real tokens
 * (right padding): out[t] = softmax(q[t] . K^T / sqrt(hd)) . V for t < T. q,
 * k, v, out: rows C floats apart, starting at the head's first channel; hd a
 * multiple of 16 up to 64. att (T rows of T): the probabilities (0 past Tk), or NULL when not
 * wanted.
 * scratch: (hd + 4) * Tp floats, Tp = Tk rounded up to 16. */
void lq_bert_attn_head_avx512(float *out, float *att, const float *q, const float *k, const float *v, int T, int Tk,
                              int C, int hd, float *scratch);

/* Rows [0, rows) of a (rows <= a->rows) from X (rows, a->cols), each
 * multiplied by mul (cols) first when mul is not NULL: scale > 0 gives the
 * static codes, else the dynamic ones, with lq_i8_quant_*'s rounding (half
 * to even) and clamping. */
void lq_bert_quant_avx512(lq_i8_act *a, int rows, const float *X, const float *mul, float scale);

/* One row: h (C) += x, then x = LayerNorm(h) * w + b (float sums). */
void lq_bert_add_layernorm_avx512(float *x, float *h, const float *w, const float *b, int C, float eps);

#endif
