/* A W8A8 linear layer: per-output-channel INT8 weights (llmq's I8_CH rows)
 * times INT8 activations through the i8mm kernels, float out.
 *   dynamic: each row (token) of X quantized with its own scale max|x|/127,
 *            as PyTorch's quantize_dynamic does;
 *   static:  one scale for the layer's input, fixed by calibration;
 * and optionally LLM.int8's outlier decomposition (Dettmers et al., 2022):
 * input columns where some |x| exceeds the threshold are taken out of the
 * INT8 product and multiplied in float (by the dequantized weights). */
#ifndef LQ_KERNELS_W8A8_H
#define LQ_KERNELS_W8A8_H

#include "kernels/i8mm.h"

typedef struct lq_w8a8 {
    lq_i8_packed *w;
    const uint8_t *rows;     /* the I8_CH rows (scale + codes), for outlier columns */
    int n_out, n_in;
    float act_scale;         /* > 0: static scale; 0: dynamic per row */
    float outlier_threshold; /* > 0: LLM.int8 decomposition */
    /* columns routed to float / columns seen, over every call (reporting) */
    uint64_t outlier_cols, seen_cols;
} lq_w8a8;

/* Packs rows (n_out I8_CH rows of n_in values, which must stay alive). */
bool lq_w8a8_init(lq_w8a8 *l, const void *rows, int n_out, int n_in);
void lq_w8a8_free(lq_w8a8 *l);

/* Y (T, n_out) = X (T, n_in) W^T (+ bias). false when out of memory. */
bool lq_w8a8_forward(lq_w8a8 *l, float *Y, const float *X, int T, const float *bias, int n_threads);

#endif
