/* Layer functions shared by every model (decoder and encoder). */
#include "model/layers.h"

#include "kernels/matmul.h"

#include <math.h>

// row (n): softmax in place, through the kernel the CPU runs best
void lq_softmax_forward(float *row, int n) { lq_kernels_get()->softmax(row, n); }

// x (n) += y (n)
void lq_add_forward(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

/* (serial calls skip the parallel construct: inside generation's team even
 * an inactive nested region costs about a microsecond) */
void lq_add_forward_nt(float *x, const float *y, size_t n, int nt) {
    if (nt <= 1 || n < ((size_t)1 << 16)) {
        lq_add_forward(x, y, n);
        return;
    }
    #pragma omp parallel for simd num_threads(nt) schedule(static)
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}
