/* Layer functions of the BERT encoder (float), over explicit activation
 * buffers whose shapes are given as (B, T, C): B sequences padded to T tokens,
 * C channels. Each is a _forward so a _backward twin can sit beside it later.
 * nt: OpenMP threads. mask (B, T): 1 for a real token, 0 for padding; NULL
 * means every position is a real token. */
#ifndef LQ_BERT_LAYERS_H
#define LQ_BERT_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* x (B, T, C) = wte[tok] + wpe[t] + wtt[type]; types NULL: all 0. Ids must
 * already be checked against the table sizes. */
void lq_bert_embeddings_forward(float *x, const int32_t *tok, const int32_t *types, int B, int T, int C,
                                const float *wte, const float *wpe, const float *wtt);
/* out (N, C) = (x - mean) / sqrt(var + eps) * w + b per row; out may be x. */
void lq_layernorm_forward(float *out, const float *x, const float *w, const float *b, int N, int C,
                          float eps, int nt);
/* h (N, C) += x, then x = layernorm(h) * w + b: a residual add and the
 * post-LN LayerNorm in one pass. */
void lq_bert_add_layernorm_forward(float *x, float *h, const float *w, const float *b, int N, int C, float eps,
                                   int nt);
/* out (N, OC) = x (N, IC) . W^T + bias, W (OC, IC) row-major, bias (OC) or NULL. */
void lq_linear_forward(float *out, const float *x, const float *W, const float *bias, int N, int IC, int OC,
                       int nt);
/* Bidirectional multi-head attention. q, k, v, out (B, T, H*hd);
 * att (B, H, T, T) receives the probabilities (kept for a backward pass). */
void lq_bert_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                               const uint8_t *mask, int B, int T, int H, int hd, int nt);
/* x (n) = x * Phi(x), the exact (erf) GELU. */
void lq_gelu_forward(float *x, size_t n, int nt);

/* out (B, C) = mean of x (B, T, C) over the unmasked tokens of each sequence,
 * then divided by its L2 norm (as torch.nn.functional.normalize, eps 1e-12). */
void lq_mean_pool_l2_forward(float *out, const float *x, const uint8_t *mask, int B, int T, int C);

#endif
