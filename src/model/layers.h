/* Layer functions shared by every model (decoder and encoder). */
#ifndef LQ_LAYERS_H
#define LQ_LAYERS_H

#include <stddef.h>

// row (n): softmax in place (sum in double)
void lq_softmax_forward(float *row, int n);
// x (n) += y (n): the residual connection
void lq_add_forward(float *x, const float *y, size_t n);

#endif
