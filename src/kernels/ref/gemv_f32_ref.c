/* Portable GEMV: the specification the SIMD kernels are tested against. */
#include "kernels/matmul.h"

// y (r1-r0) = W[r0:r1, :] (rows, in) . x (in)
void lq_gemv_f32_ref(float *y, const float *x, const float *W, int in, int r0, int r1) {
    for (int r = r0; r < r1; r++) {
        const float *w = W + (size_t)r * in;
        float s = 0.0f;
        for (int i = 0; i < in; i++) s += w[i] * x[i];
        y[r] = s;
    }
}
