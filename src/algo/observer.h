/* Activation observers for static INT8 quantization: each watches the
 * activations of one linear layer's input over the calibration batches and
 * then names the clipping threshold t of a symmetric INT8 grid (scale
 * t / 127), as the observers of PyTorch, ONNX Runtime and TensorRT do:
 *   minmax      t = the largest |x| seen (MinMaxObserver)
 *   ema         moving average of each batch's largest |x|, weight 0.01 for
 *               a new batch (MovingAverageMinMaxObserver)
 *   percentile  the 99.99th percentile of |x| (ONNX Runtime's percentile)
 *   mse         the t minimizing the expected squared error of quantizing x
 *               (clipping above t, rounding below), from the histogram
 *   kl          TensorRT's entropy calibration: the t whose 128-level
 *               quantized histogram has the least KL divergence from the
 *               clipped one */
#ifndef LQ_ALGO_OBSERVER_H
#define LQ_ALGO_OBSERVER_H

#include "core/lq.h"

typedef enum lq_observer_kind {
    LQ_OBS_MINMAX,
    LQ_OBS_EMA,
    LQ_OBS_PERCENTILE,
    LQ_OBS_MSE,
    LQ_OBS_KL,
} lq_observer_kind;

bool lq_observer_from_name(const char *name, lq_observer_kind *k);
const char *lq_observer_name(lq_observer_kind k);

typedef struct lq_observer lq_observer;

/* NULL when out of memory. */
lq_observer *lq_observer_new(lq_observer_kind kind);
void lq_observer_free(lq_observer *o);
/* One calibration batch of n values (NaN and infinities are ignored). */
void lq_observer_update(lq_observer *o, const float *x, size_t n);
/* The clipping threshold t (> 0; 1 when nothing non-zero was seen). */
float lq_observer_threshold(const lq_observer *o);

#endif
