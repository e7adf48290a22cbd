/* W8A8 linear layers over the i8mm kernels. */
#include "kernels/w8a8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool lq_w8a8_init(lq_w8a8 *l, const void *rows, int n_out, int n_in) {
    memset(l, 0, sizeof *l);
    l->w = lq_i8_pack(rows, n_out, n_in);
    l->rows = rows;
    l->n_out = n_out, l->n_in = n_in;
    return l->w != NULL;
}

void lq_w8a8_free(lq_w8a8 *l) {
    lq_i8_pack_free(l->w);
    l->w = NULL;
}

// Marks (1) the columns of X (T, K) holding a |x| above thr; returns how many
static int find_outliers(const float *X, int T, int K, float thr, uint8_t *mark) {
    int n = 0;
    memset(mark, 0, (size_t)K);
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++)
            if (fabsf(X[(size_t)t * K + k]) > thr && !mark[k]) mark[k] = 1, n++;
    return n;
}

// Y (T, N) += X[:, c] (float) times the dequantized weight column c, for the marked columns
static void add_outliers(const lq_w8a8 *l, float *Y, const float *X, int T, const uint8_t *mark) {
    const size_t rb = sizeof(float) + (size_t)l->n_in;
    for (int n = 0; n < l->n_out; n++) {
        const uint8_t *row = l->rows + (size_t)n * rb;
        float scale;
        memcpy(&scale, row, sizeof scale);
        const int8_t *q = (const int8_t *)(row + sizeof scale);
        for (int k = 0; k < l->n_in; k++) {
            if (!mark[k]) continue;
            float w = scale * (float)(q[k] < -127 ? -127 : q[k]);
            for (int t = 0; t < T; t++) Y[(size_t)t * l->n_out + n] += X[(size_t)t * l->n_in + k] * w;
        }
    }
}

bool lq_w8a8_forward(lq_w8a8 *l, float *Y, const float *X, int T, const float *bias, int n_threads) {
    const int K = l->n_in;
    lq_i8_act a;
    if (!lq_i8_act_alloc(&a, T, K)) return false;
    uint8_t *mark = NULL;
    float *Xin = NULL;
    int n_out = 0;
    if (l->outlier_threshold > 0) {
        mark = malloc((size_t)K);
        if (!mark) return lq_i8_act_free(&a), false;
        n_out = find_outliers(X, T, K, l->outlier_threshold, mark);
        l->outlier_cols += (uint64_t)n_out;
        l->seen_cols += (uint64_t)K;
    }
    if (n_out > 0) { // the INT8 product sees the outlier columns as zeros
        Xin = malloc((size_t)T * K * sizeof(float));
        if (!Xin) return free(mark), lq_i8_act_free(&a), false;
        for (size_t i = 0; i < (size_t)T * K; i++) Xin[i] = mark[i % K] ? 0.0f : X[i];
    }
    const float *src = Xin ? Xin : X;
    if (l->act_scale > 0) lq_i8_quant_static(&a, src, l->act_scale);
    else lq_i8_quant_dynamic(&a, src);
    bool ok = lq_i8_gemm(Y, &a, l->w, bias, n_threads);
    if (ok && n_out > 0) add_outliers(l, Y, X, T, mark);
    free(Xin);
    free(mark);
    lq_i8_act_free(&a);
    return ok;
}
