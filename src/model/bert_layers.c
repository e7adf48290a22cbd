/* BERT layer functions over explicit activation buffers. Float math with
 * double accumulation where the reference (PyTorch) agreement depends on it.
 *
 * OpenMP only for large enough work: between two OpenBLAS calls an idle
 * OpenMP team keeps spinning and takes the cores BLAS threads need, so the
 * cheap element-wise layers of a short sentence run faster serially. */
#include "model/bert_layers.h"

#include "kernels/matmul.h"
#include "model/bert_fast.h"

#include <stdlib.h>

#include <math.h>
#include <string.h>

bool lq_bert_fast_ok(void) { return lq_kernels_get()->level >= 2; }

/* Real tokens of a right-padded mask row (T when NULL); -1 when the real
 * tokens are not a prefix. */
static int prefix_len(const uint8_t *m, int T) {
    if (!m) return T;
    int n = 0;
    while (n < T && m[n]) n++;
    for (int t = n; t < T; t++)
        if (m[t]) return -1;
    return n;
}

/* Multiply-adds below which a layer runs on one thread. */
#define LQ_PAR_MIN ((size_t)1 << 20)

// x (B, T, C) = wte (V, C)[tok] + wpe (P, C)[t] + wtt (K, C)[type]
void lq_bert_embeddings_forward(float *x, const int32_t *tok, const int32_t *types, int B, int T, int C,
                                const float *wte, const float *wpe, const float *wtt) {
    for (int bt = 0; bt < B * T; bt++) {
        const float *we = wte + (size_t)tok[bt] * C;
        const float *pe = wpe + (size_t)(bt % T) * C;
        const float *te = wtt + (size_t)(types ? types[bt] : 0) * C;
        float *xt = x + (size_t)bt * C;
        for (int i = 0; i < C; i++) xt[i] = we[i] + te[i] + pe[i];
    }
}

// out (N, C) = layernorm(x (N, C)) * w (C) + b (C)
void lq_layernorm_forward(float *out, const float *x, const float *w, const float *b, int N, int C,
                          float eps, int nt) {
    #pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)N * C >= LQ_PAR_MIN)
    for (int r = 0; r < N; r++) {
        const float *xr = x + (size_t)r * C;
        float *o = out + (size_t)r * C;
        double sum = 0.0, ss = 0.0;
        for (int i = 0; i < C; i++) sum += xr[i];
        double mean = sum / C;
        for (int i = 0; i < C; i++) {
            double d = xr[i] - mean;
            ss += d * d;
        }
        /* biased variance, as torch.nn.LayerNorm */
        float rstd = (float)(1.0 / sqrt(ss / C + (double)eps));
        float m = (float)mean;
        for (int i = 0; i < C; i++) o[i] = (xr[i] - m) * rstd * w[i] + b[i];
    }
}

void lq_bert_add_layernorm_forward(float *x, float *h, const float *w, const float *b, int N, int C, float eps,
                                   int nt) {
    if (!lq_bert_fast_ok()) {
        for (size_t i = 0; i < (size_t)N * C; i++) h[i] += x[i];
        lq_layernorm_forward(x, h, w, b, N, C, eps, nt);
        return;
    }
    #pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)N * C >= LQ_PAR_MIN)
    for (int r = 0; r < N; r++)
        lq_bert_add_layernorm_avx512(x + (size_t)r * C, h + (size_t)r * C, w, b, C, eps);
}

// out (N, OC) = x (N, IC) . W (OC, IC)^T + bias (OC)
void lq_linear_forward(float *out, const float *x, const float *W, const float *bias, int N, int IC, int OC,
                       int nt) {
    lq_matmul_f32(out, x, W, N, IC, OC, nt);
    if (!bias) return;
    for (int r = 0; r < N; r++) {
        float *o = out + (size_t)r * OC;
        for (int j = 0; j < OC; j++) o[j] += bias[j];
    }
}

/* One query row: scores over keys (masked keys get probability 0), softmax,
 * weighted sum of values. qt, ot (hd); k, v rows of stride C; p (T). */
static void attend_row(float *ot, float *p, const float *qt, const float *k, const float *v,
                       const uint8_t *m, int T, int C, int hd) {
    float scale = 1.0f / sqrtf((float)hd), mx = -INFINITY;
    for (int s = 0; s < T; s++) {
        if (m && !m[s]) {
            p[s] = -INFINITY;
            continue;
        }
        const float *ks = k + (size_t)s * C;
        float dot = 0.0f;
        #pragma omp simd reduction(+ : dot)
        for (int i = 0; i < hd; i++) dot += qt[i] * ks[i];
        p[s] = dot * scale;
        mx = p[s] > mx ? p[s] : mx;
    }
    memset(ot, 0, (size_t)hd * sizeof(float));
    if (mx == -INFINITY) { /* a sequence with no real token: output 0 */
        for (int s = 0; s < T; s++) p[s] = 0.0f;
        return;
    }
    double sum = 0.0;
    for (int s = 0; s < T; s++) {
        p[s] = p[s] == -INFINITY ? 0.0f : expf(p[s] - mx);
        sum += p[s];
    }
    float inv = (float)(1.0 / sum);
    for (int s = 0; s < T; s++) {
        p[s] *= inv;
        if (p[s] == 0.0f) continue;
        const float *vs = v + (size_t)s * C;
        float ps = p[s];
        #pragma omp simd
        for (int i = 0; i < hd; i++) ot[i] += ps * vs[i];
    }
}

// q, k, v, out (B, T, C = H*hd); att (B, H, T, T): the probabilities, except on
// the AVX-512 path, which needs no scratch there and skips them; mask (B, T) or NULL
void lq_bert_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                               const uint8_t *mask, int B, int T, int H, int hd, int nt) {
    int C = H * hd;
    bool fast = lq_bert_fast_ok() && hd % 16 == 0 && hd <= 64;
    for (int b = 0; fast && b < B; b++) fast = prefix_len(mask ? mask + (size_t)b * T : NULL, T) > 0;
    if (fast) {
        size_t Tp = ((size_t)T + 15) & ~(size_t)15;
        #pragma omp parallel num_threads(nt) if ((size_t)B * H * T * T * hd >= LQ_PAR_MIN)
        {
            float *scratch = malloc(((size_t)hd + 4) * Tp * sizeof(float));
            #pragma omp for collapse(2) schedule(static)
            for (int b = 0; b < B; b++)
                for (int h = 0; h < H; h++) {
                    size_t base = (size_t)b * T * C + (size_t)h * hd;
                    float *p = att + ((size_t)b * H + h) * T * T;
                    int Tk = prefix_len(mask ? mask + (size_t)b * T : NULL, T);
                    if (scratch) lq_bert_attn_head_avx512(out + base, NULL, q + base, k + base, v + base, T, Tk, C, hd, scratch);
                    else
                        for (int t = 0; t < T; t++)
                            attend_row(out + base + (size_t)t * C, p + (size_t)t * T, q + base + (size_t)t * C,
                                       k + base, v + base, mask ? mask + (size_t)b * T : NULL, T, C, hd);
                }
            free(scratch);
        }
        return;
    }
    #pragma omp parallel for collapse(3) num_threads(nt) schedule(static) \
        if ((size_t)B * H * T * T * hd >= LQ_PAR_MIN)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < T; t++) {
                size_t base = (size_t)b * T * C + (size_t)h * hd; /* head h of sequence b */
                float *p = att + (((size_t)b * H + h) * T + t) * T;
                attend_row(out + base + (size_t)t * C, p, q + base + (size_t)t * C, k + base, v + base,
                           mask ? mask + (size_t)b * T : NULL, T, C, hd);
            }
}

// x (n) = 0.5 x (1 + erf(x / sqrt 2))
void lq_gelu_forward(float *x, size_t n, int nt) {
    const float r2 = 0.70710678118654752440f;
    if (lq_bert_fast_ok()) {
        const size_t chunk = 4096;
        #pragma omp parallel for num_threads(nt) schedule(static) if (n >= LQ_PAR_MIN / 4)
        for (size_t i = 0; i < n; i += chunk) lq_bert_gelu_avx512(x + i, n - i < chunk ? n - i : chunk);
        return;
    }
    #pragma omp parallel for num_threads(nt) schedule(static) if (n >= LQ_PAR_MIN / 4)
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * r2));
}

// out (B, C) = l2normalize(mean over unmasked t of x (B, T, C))
void lq_mean_pool_l2_forward(float *out, const float *x, const uint8_t *mask, int B, int T, int C) {
    for (int b = 0; b < B; b++) {
        float *o = out + (size_t)b * C;
        const uint8_t *m = mask ? mask + (size_t)b * T : NULL;
        int cnt = 0;
        for (int t = 0; t < T; t++) cnt += !m || m[t];
        double ss = 0.0;
        for (int i = 0; i < C; i++) {
            double s = 0.0;
            for (int t = 0; t < T; t++)
                if (!m || m[t]) s += x[((size_t)b * T + t) * C + i];
            o[i] = cnt ? (float)(s / cnt) : 0.0f;
            ss += (double)o[i] * o[i];
        }
        double nrm = sqrt(ss);
        float inv = (float)(1.0 / (nrm > 1e-12 ? nrm : 1e-12));
        for (int i = 0; i < C; i++) o[i] *= inv;
    }
}
