/* HQQ: half-quadratic quantization (Badri & Shaji 2023), calibration-free.
 * Per group the scale stays at the min/max one and the zero point is found
 * by HQQ's alternating solve of  min_z  |W - Q_z^-1(Q_z(W))|_p^p  (p < 1):
 * the error e is shrunk by the generalized soft-thresholding operator of
 * the lp norm, then the zero point is the mean that fits W - e, with the
 * penalty weight beta growing by kappa each step.
 *
 * Formats: the asymmetric group types, whose zero point HQQ optimizes:
 * llmq's I{2,3,4,8}_G{32,64,128}A and GGML's Q4_1 and Q5_1. Symmetric
 * formats (no zero point) and K-quants (zero points quantized to 6 or 4
 * bits per sub-block against a super-block scale) are refused with
 * LLMQ_ERR_UNSUPPORTED. */
#ifndef LQ_ALGO_HQQ_H
#define LQ_ALGO_HQQ_H

#include "core/lq.h"

typedef struct {
    float lp_norm; /* p of the error norm, 0 < p <= 1 */
    float beta;    /* initial penalty weight, > 0 */
    float kappa;   /* beta's growth per iteration, >= 1 */
    int iters;     /* at most this many updates of the zero point */
} lq_hqq_params;

/* The reference implementation's defaults: p 0.7, beta 10, kappa 1.01,
 * 20 iterations. */
lq_hqq_params lq_hqq_default_params(void);

/* True for the types lq_hqq_quantize accepts. */
bool lq_hqq_supported(uint32_t type);

/* W (rows, cols) F32 -> rows of type into out (rows * lq_row_size(type,
 * cols) bytes). p NULL: the defaults. Every group ends at least as good as
 * round-to-nearest in the lp objective: the min/max start (exactly what
 * lq_rtn_quantize writes) is a candidate, and the best of it and the
 * iterates, measured on the values the format stores (fp16 scale and zero
 * point), is written. Rows in parallel; the bytes do not depend on
 * n_threads. */
llmq_status lq_hqq_quantize(const float *W, int64_t rows, int64_t cols, uint32_t type, const lq_hqq_params *p,
                            void *out, int n_threads, lq_err *e);

#endif
