/* Llama layer functions over explicit activation buffers. Each takes its
 * shapes in a comment so a _backward twin can sit beside it later. */
#include "model/llama_layers.h"

#include "kernels/matmul.h"

#include <math.h>
#include <string.h>

static void rmsnorm_row(float *out, const float *x, const float *w, int C, float eps) {
    double ss = 0.0;
    for (int i = 0; i < C; i++) ss += (double)(x[i] * x[i]);
    float scale = 1.0f / sqrtf((float)(ss / C) + eps);
    for (int i = 0; i < C; i++) out[i] = x[i] * scale * w[i];
}

/* One row (generation) runs without a parallel construct: inside the
 * decoder's team even an inactive nested region costs about a microsecond. */
// out (T, C) = x (T, C) / rms(x) * w (C)
void lq_rmsnorm_forward(float *out, const float *x, const float *w, int T, int C, float eps, int nt) {
    if (T == 1) {
        rmsnorm_row(out, x, w, C, eps);
        return;
    }
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < T; t++) rmsnorm_row(out + (size_t)t * C, x + (size_t)t * C, w, C, eps);
}

// x (T, H*hd): rotates adjacent pairs (2i, 2i+1) of each head by pos*theta^(-2i/hd)
// H heads of hd values at x rotated by the angles cs/sn
static void rope_row(float *x, int H, int hd, const float *cs, const float *sn) {
    for (int h = 0; h < H; h++) {
        float *v = x + (size_t)h * hd;
        for (int i = 0; i < hd / 2; i++) {
            float a = v[2 * i], b = v[2 * i + 1];
            v[2 * i] = a * cs[i] - b * sn[i];
            v[2 * i + 1] = a * sn[i] + b * cs[i];
        }
    }
}

/* row t of n_seq sequences of T, at position pos0 + t % T */
static void rope_qk_row(float *q, float *k, int H, int Hkv, int hd, float p, float theta_scale) {
    float cs[512], sn[512], ang = p; /* hd <= 1024 checked by the loader */
    for (int i = 0; i < hd / 2; i++) {
        cs[i] = cosf(ang);
        sn[i] = sinf(ang);
        ang *= theta_scale;
    }
    rope_row(q, H, hd, cs, sn);
    if (k) rope_row(k, Hkv, hd, cs, sn);
}

void lq_rope_qk_forward(float *q, float *k, int n_seq, int T, int H, int Hkv, int hd, int pos0, float theta, int nt) {
    float theta_scale = powf(theta, -2.0f / (float)hd);
    int rows = n_seq * T;
    if (rows == 1) {
        rope_qk_row(q, k, H, Hkv, hd, (float)pos0, theta_scale);
        return;
    }
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < rows; t++)
        rope_qk_row(q + (size_t)t * H * hd, k ? k + (size_t)t * Hkv * hd : NULL, H, Hkv, hd, (float)(pos0 + t % T),
                    theta_scale);
}

// g (T*F) = silu(g) * u
void lq_swiglu_forward(float *g, const float *u, size_t n, int nt) {
    lq_swiglu_fn f = lq_kernels_get()->swiglu;
    size_t chunk = 4096;
    if (n <= chunk) {
        f(g, u, n);
        return;
    }
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (size_t i = 0; i < n; i += chunk) f(g + i, u + i, n - i < chunk ? n - i : chunk);
}
