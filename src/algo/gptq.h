/* GPTQ (Frantar et al. 2022, "GPTQ: Accurate Post-Training Quantization for
 * Generative Pre-trained Transformers"): columns of W are rounded one at a
 * time to their format's grid (quant/grid.h), and each column's rounding
 * error, weighted by the inverse Hessian of the layer's input statistics, is
 * pushed onto the columns not yet rounded. Every weight format with an
 * element grid is handled, GGML's super-block formats included: a format
 * block's scales are chosen by the type's reference quantizer from the
 * error-updated weights when the sweep reaches the block. */
#ifndef LQ_ALGO_GPTQ_H
#define LQ_ALGO_GPTQ_H

#include "core/lq.h"

typedef struct lq_gptq_params {
    float damp;     /* added to diag(H): damp * mean(diag(H)) */
    int block;      /* lazy-batch columns (raised to whole format blocks) */
    bool act_order; /* columns by descending diag(H); block scales then
                       come from the original weights ("static groups") */
} lq_gptq_params;

/* damp 0.01, block 128, no act_order */
lq_gptq_params lq_gptq_default_params(void);

/* W (rows = outputs, cols = inputs) row-major; H (cols, cols) = sum over
 * calibration tokens of x x^T (symmetric, any positive scale); a column with
 * H_ii == 0 never saw input and is quantized as zero. out gets
 * rows * lq_row_size(type, cols) bytes. p NULL: defaults. The bytes do not
 * depend on n_threads (<= 0: all cores). */
llmq_status lq_gptq_quantize(const float *W, int64_t rows, int64_t cols, const float *H, uint32_t type,
                             const lq_gptq_params *p, void *out, int n_threads, lq_err *e);

#endif
