/* Reference W8A8 tile: the exact int32 sum of code products, then the float
 * epilogue every path reproduces operation by operation:
 *     s = sx[t] * sw[n]
 *     y = (float)acc * s
 *     y = y + bias[n]        (only with a bias) */
#include "kernels/i8mm.h"

void lq_i8_tile_ref(const lq_i8_job *job, int t0, int t1, int p) {
    const lq_i8_act *X = job->X;
    const lq_i8_packed *W = job->W;
    const int n_end = W->rows < 64 * (p + 1) ? W->rows : 64 * (p + 1);
    for (int t = t0; t < t1; t++) {
        const int8_t *x = X->q + (size_t)t * X->kp;
        for (int n = 64 * p; n < n_end; n++) {
            int32_t acc = 0;
            for (int k = 0; k < W->kp; k++) acc += (int32_t)x[k] * W->w[lq_i8_packed_index(W, n, k)];
            const size_t o = (size_t)t * W->rows + n;
            if (job->acc) job->acc[o] = acc;
            const float s = X->scale[t] * W->scale[n];
            float y = (float)acc * s;
            if (job->bias) y = y + job->bias[n];
            job->Y[o] = y;
        }
    }
}
