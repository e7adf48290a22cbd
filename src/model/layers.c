/* Layer functions shared by every model (decoder and encoder). */
#include "model/layers.h"

#include "kernels/matmul.h"

#include <math.h>

// row (n): softmax in place, through the kernel the CPU runs best
void lq_softmax_forward(float *row, int n) { lq_kernels_get()->softmax(row, n); }

// x (n) += y (n)
void lq_add_forward(float *x, const float *y, size_t n) { lq_add_forward_nt(x, y, n, 1); }

void lq_add_forward_nt(float *x, const float *y, size_t n, int nt) {
    #pragma omp parallel for simd num_threads(nt) schedule(static) if (nt > 1 && n >= ((size_t)1 << 16))
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}
