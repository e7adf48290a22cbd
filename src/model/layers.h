/* Layer functions shared by every model (decoder and encoder). */
#ifndef LQ_LAYERS_H
#define LQ_LAYERS_H

#include <stddef.h>

// row (n): softmax in place (sum in double)
void lq_softmax_forward(float *row, int n);
// x (n) += y (n): the residual connection (with nt threads when n is large)
void lq_add_forward(float *x, const float *y, size_t n);
void lq_add_forward_nt(float *x, const float *y, size_t n, int nt);

#endif
