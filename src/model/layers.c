/* Layer functions shared by every model (decoder and encoder). */
#include "model/layers.h"

#include <math.h>

// row (n): softmax in place
void lq_softmax_forward(float *row, int n) {
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

// x (n) += y (n)
void lq_add_forward(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}
