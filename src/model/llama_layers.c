/* Llama layer functions over explicit activation buffers. Each takes its
 * shapes in a comment so a _backward twin can sit beside it later. */
#include "model/llama_layers.h"

#include "kernels/matmul.h"

#include <math.h>
#include <string.h>

// out (T, C) = x (T, C) / rms(x) * w (C)
void lq_rmsnorm_forward(float *out, const float *x, const float *w, int T, int C, float eps, int nt) {
    #pragma omp parallel for num_threads(nt) schedule(static) if (T > 1)
    for (int t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * C;
        float *ot = out + (size_t)t * C;
        double ss = 0.0;
        for (int i = 0; i < C; i++) ss += (double)(xt[i] * xt[i]);
        float scale = 1.0f / sqrtf((float)(ss / C) + eps);
        for (int i = 0; i < C; i++) ot[i] = xt[i] * scale * w[i];
    }
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

void lq_rope_qk_forward(float *q, float *k, int n_seq, int T, int H, int Hkv, int hd, int pos0, float theta, int nt) {
    float theta_scale = powf(theta, -2.0f / (float)hd);
    int rows = n_seq * T;
    #pragma omp parallel for num_threads(nt) schedule(static) if (rows > 1)
    for (int t = 0; t < rows; t++) {
        float p = (float)(pos0 + t % T), ang = p;
        float cs[512], sn[512]; /* hd <= 1024 checked by the loader */
        for (int i = 0; i < hd / 2; i++) {
            cs[i] = cosf(ang);
            sn[i] = sinf(ang);
            ang *= theta_scale;
        }
        rope_row(q + (size_t)t * H * hd, H, hd, cs, sn);
        if (k) rope_row(k + (size_t)t * Hkv * hd, Hkv, hd, cs, sn);
    }
}

void lq_rope_forward(float *x, int T, int H, int hd, int pos0, float theta, int nt) {
    lq_rope_qk_forward(x, NULL, 1, T, H, 0, hd, pos0, theta, nt);
}

// g (T*F) = silu(g) * u
void lq_swiglu_forward(float *g, const float *u, size_t n, int nt) {
    lq_swiglu_fn f = lq_kernels_get()->swiglu;
    size_t chunk = 4096;
    #pragma omp parallel for num_threads(nt) schedule(static) if (n > chunk)
    for (size_t i = 0; i < n; i += chunk) f(g + i, u + i, n - i < chunk ? n - i : chunk);
}
