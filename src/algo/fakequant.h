/* Quantize-then-dequantize of a whole matrix: what a search (AWQ's scales,
 * clipping) needs to see the rounding the final file will get. */
#ifndef LQ_ALGO_FAKEQUANT_H
#define LQ_ALGO_FAKEQUANT_H

#include "core/lq.h"

/* A weight quantizer: W (rows, cols) F32 -> rows of type in out
 * (rows * lq_row_size(type, cols) bytes). */
typedef llmq_status (*lq_wquant_fn)(const float *W, int64_t rows, int64_t cols, uint32_t type, void *out,
                                    int n_threads, void *user, lq_err *e);

typedef struct lq_wquant {
    lq_wquant_fn fn; /* NULL: round to nearest with the reference quantizers */
    void *user;
} lq_wquant;

/* out (rows, cols) = dequantize(quantize(W)) through q (NULL: rtn). Rows are
 * independent, so out does not depend on n_threads. */
llmq_status lq_fakequant(const lq_wquant *q, const float *W, int64_t rows, int64_t cols, uint32_t type, float *out,
                         int n_threads, lq_err *e);

#endif
