/* AWQ (Lin et al., 2023): activation-aware weight quantization. Input
 * channels that carry large activations are scaled up before rounding (their
 * relative rounding error shrinks) and the inverse scale is folded into what
 * feeds the layer (the RMSNorm weight, or the rows of the matrix before), so
 * the float function is unchanged. The scale exponent is searched on a grid
 * against the layer's output error on sample inputs; then each group's
 * clipping range is searched against the same output error. */
#ifndef LQ_ALGO_AWQ_H
#define LQ_ALGO_AWQ_H

#include "algo/fakequant.h"

/* One of the matrices that read the same input (q, k, v; gate, up). */
typedef struct lq_awq_linear {
    const float *W; // (rows, cols)
    int64_t rows;
    uint32_t type;  // the type it will be written in
} lq_awq_linear;

typedef struct lq_awq_params {
    int n_grid;        // scale exponents a = 0, 1/n_grid, ..., (n_grid-1)/n_grid (20)
    bool duo_scaling;  // s = x^a / w^(1-a) as AutoAWQ, else the paper's s = x^a (true)
    int clip_grid;     // clipping steps of 1/clip_grid of the group's max (20)
    float max_shrink;  // clip to no less than (1 - max_shrink) of the max (0.5)
} lq_awq_params;

lq_awq_params lq_awq_default_params(void);

/* Per-input-channel scales s (cols) for the matrices lin[0..n_lin), which
 * read X (n, cols). The candidate with the lowest summed squared output error
 * sum_i ||X W_i^T - X (Q(W_i diag(s)) diag(1/s))^T||^2 wins; s = 1 (plain
 * rounding) is always a candidate, so the result is never worse than it on X.
 * loss[0] gets plain rounding's error, loss[1] the chosen one's (per output
 * value; loss may be NULL). Quantization goes through q (NULL: rtn). The
 * result does not depend on n_threads. */
llmq_status lq_awq_search(const lq_awq_linear *lin, int n_lin, int64_t cols, const float *X, int64_t n,
                          const lq_awq_params *p, const lq_wquant *q, float *s, double loss[2], int n_threads,
                          lq_err *e);

/* The group clipping applies to (values per independent block, which the
 * reference quantizer can quantize on its own); 0 when the type has none
 * (super-blocks with shared scales, per-row scales). */
int lq_awq_clip_group(uint32_t type, int64_t cols);

/* Clips W (rows, cols) in place: for every row and group of
 * lq_awq_clip_group values, the range [-m, m] with the lowest output error
 * d^T H_g d (d = w - Q(clip(w)), H_g the group's block of H = X^T X, cols x
 * cols) among m = max|w| (1 - i/clip_grid), i < max_shrink * clip_grid.
 * Returns UNSUPPORTED for a type without independent groups. */
llmq_status lq_awq_clip(float *W, int64_t rows, int64_t cols, uint32_t type, const float *H, const lq_awq_params *p,
                        int n_threads, lq_err *e);

#endif
