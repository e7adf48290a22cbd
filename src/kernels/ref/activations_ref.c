/* Scalar softmax and SwiGLU (kernels/activations.h). */
#include "kernels/activations.h"

#include <math.h>

void lq_softmax_ref(float *row, int n) {
    float mx = -INFINITY;
    for (int i = 0; i < n; i++) mx = row[i] > mx ? row[i] : mx;
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        row[i] = expf(row[i] - mx);
        sum += row[i];
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) row[i] *= inv;
}

void lq_swiglu_ref(float *g, const float *u, size_t n) {
    for (size_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}
