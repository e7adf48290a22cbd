/* SmoothQuant's migration scales. */
#include "algo/smoothquant.h"

#include <math.h>

void lq_smooth_scales(const float *act_max, const float *const *W, const int *rows, int n_w, int cols, float alpha,
                      float *s) {
    for (int j = 0; j < cols; j++) {
        float wmax = 0;
        for (int i = 0; i < n_w; i++)
            for (int r = 0; r < rows[i]; r++) {
                float a = fabsf(W[i][(size_t)r * cols + j]);
                wmax = a > wmax ? a : wmax;
            }
        double v = act_max[j] > 0 && wmax > 0 ? pow(act_max[j], alpha) / pow(wmax, 1.0 - alpha) : 1.0;
        s[j] = v >= 1e-5 && v <= 1e5 ? (float)v : v < 1e-5 ? 1e-5f : 1e5f;
    }
}
