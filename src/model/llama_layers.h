/* Layer functions of the llama decoder (float). nt: OpenMP threads. */
#ifndef LQ_LLAMA_LAYERS_H
#define LQ_LLAMA_LAYERS_H

#include <stddef.h>

#include "model/layers.h" /* softmax, residual add */

void lq_rmsnorm_forward(float *out, const float *x, const float *w, int T, int C, float eps, int nt);
/* q (n_seq*T rows of H heads) and k (of Hkv heads) together, one angle table
 * per row; row i is at position pos0 + i % T (n_seq sequences of T). */
void lq_rope_qk_forward(float *q, float *k, int n_seq, int T, int H, int Hkv, int hd, int pos0, float theta, int nt);
void lq_swiglu_forward(float *g, const float *u, size_t n, int nt);

#endif
