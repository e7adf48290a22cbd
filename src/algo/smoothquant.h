/* SmoothQuant (Xiao et al., 2022): per input channel j, the activations are
 * divided and the weights multiplied by
 *   s_j = max|X_j|^alpha / max|W_j|^(1 - alpha)
 * (max over calibration tokens, and over the rows of every matrix reading
 * X), which moves activation outliers into the weights, where per-channel
 * INT8 absorbs them. The division is folded into whatever produces X (a
 * norm's weight and bias, or the rows of the matrix before). */
#ifndef LQ_ALGO_SMOOTHQUANT_H
#define LQ_ALGO_SMOOTHQUANT_H

#include "core/lq.h"

/* s (cols) for activation maxima act_max (cols) and the matrices W[i]
 * (rows[i], cols); channels never active or with all-zero weights get 1. */
void lq_smooth_scales(const float *act_max, const float *const *W, const int *rows, int n_w, int cols, float alpha,
                      float *s);

#endif
