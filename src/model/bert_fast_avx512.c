/* AVX-512 GELU, attention head and activation quantization for BERT. */
#include "model/bert_fast.h"

#include "kernels/vexp_avx512.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

// erf(x) = 1 - (a1 t + .. + a5 t^5) e^(-x^2), t = 1 / (1 + p |x|), odd
static inline __m512 erf_avx512(__m512 x) {
    const __m512 ax = _mm512_abs_ps(x);
    /* t = 1 / d by rcp14 and one Newton step (rel. error ~1e-7, below the
     * formula's own 1.5e-7): vdivps would take the vector divider ~16 cycles */
    const __m512 d = _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, _mm512_set1_ps(1.0f));
    const __m512 r = _mm512_rcp14_ps(d);
    const __m512 t = _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0f)));
    __m512 p = _mm512_set1_ps(1.061405429f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
    p = _mm512_mul_ps(p, t);
    const __m512 e = lq_exp_le0_avx512(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), ax), ax));
    const __m512 y = _mm512_fnmadd_ps(p, e, _mm512_set1_ps(1.0f));
    // sign of x onto y
    return _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_castps_si512(y), _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u))));
}

static inline __m512 gelu16(__m512 x) {
    const __m512 e = erf_avx512(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752440f)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

void lq_bert_gelu_avx512(float *x, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, gelu16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, gelu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

static inline __mmask16 real_mask(int Tk, int j0) {
    return Tk - j0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (Tk - j0)) - 1);
}

/* Scaled scores of R query rows against nb (1 or 2) blocks of 16 keys from
 * j0 into p (R rows of Tp), with the running maxima of the real keys. */
static inline __attribute__((always_inline)) void score_block(float *p, __m512 mx[4], const float *q, const float *Kt,
                                                              int t, int R, int nb, int j0, int Tk, int Tp, int C,
                                                              int hd, __m512 scale) {
    __m512 acc[2][4];
    for (int b = 0; b < nb; b++)
        for (int r = 0; r < R; r++) acc[b][r] = _mm512_setzero_ps();
    for (int i = 0; i < hd; i++) {
        __m512 kv[2];
        for (int b = 0; b < nb; b++) kv[b] = _mm512_loadu_ps(Kt + (size_t)i * Tp + j0 + 16 * b);
        for (int r = 0; r < R; r++) {
            const __m512 qb = _mm512_set1_ps(q[(size_t)(t + r) * C + i]);
            for (int b = 0; b < nb; b++) acc[b][r] = _mm512_fmadd_ps(qb, kv[b], acc[b][r]);
        }
    }
    for (int b = 0; b < nb; b++) {
        const __mmask16 real = real_mask(Tk, j0 + 16 * b);
        for (int r = 0; r < R; r++) {
            acc[b][r] = _mm512_mul_ps(acc[b][r], scale);
            mx[r] = _mm512_mask_max_ps(mx[r], real, mx[r], acc[b][r]);
            _mm512_storeu_ps(p + (size_t)r * Tp + j0 + 16 * b, acc[b][r]);
        }
    }
}

/* Query rows [t, t + R) of one head: R rows at once so that the score and
 * value sums run R (x nv) independent FMA chains instead of one. p: R rows of
 * Tp scores. */
static inline void attn_rows(float *out, float *att, const float *q, const float *v, const float *Kt, float *p, int t,
                             int R, int T, int Tk, int Tp, int C, int hd) {
    const __m512 scale = _mm512_set1_ps(1.0f / sqrtf((float)hd));
    const int nv = hd / 16;
    __m512 mx[4];
    for (int r = 0; r < R; r++) mx[r] = _mm512_set1_ps(-INFINITY);
    /* scores 32 keys at a time (2R chains), then the last 16 if any */
    int j0 = 0;
    for (; j0 + 32 <= Tp; j0 += 32) score_block(p, mx, q, Kt, t, R, 2, j0, Tk, Tp, C, hd, scale);
    for (; j0 < Tp; j0 += 16) score_block(p, mx, q, Kt, t, R, 1, j0, Tk, Tp, C, hd, scale);
    float inv[4];
    for (int r = 0; r < R; r++) {
        float *pr = p + (size_t)r * Tp;
        const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx[r]));
        __m512 sum = _mm512_setzero_ps();
        for (int j = 0; j < Tp; j += 16) {
            const __m512 e =
                _mm512_maskz_mov_ps(real_mask(Tk, j), lq_exp_le0_avx512(_mm512_sub_ps(_mm512_loadu_ps(pr + j), m)));
            sum = _mm512_add_ps(sum, e);
            _mm512_storeu_ps(pr + j, e);
        }
        inv[r] = 1.0f / _mm512_reduce_add_ps(sum);
    }
    __m512 o[4][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < nv; c++) o[r][c] = _mm512_setzero_ps();
    for (int j = 0; j < Tk; j++) {
        const float *vj = v + (size_t)j * C;
        for (int c = 0; c < nv; c++) {
            const __m512 vv = _mm512_loadu_ps(vj + 16 * c);
            for (int r = 0; r < R; r++) o[r][c] = _mm512_fmadd_ps(_mm512_set1_ps(p[(size_t)r * Tp + j]), vv, o[r][c]);
        }
    }
    for (int r = 0; r < R; r++) {
        float *ot = out + (size_t)(t + r) * C, *at = att ? att + (size_t)(t + r) * T : NULL;
        const float *pr = p + (size_t)r * Tp;
        for (int c = 0; c < nv; c++) _mm512_storeu_ps(ot + 16 * c, _mm512_mul_ps(o[r][c], _mm512_set1_ps(inv[r])));
        if (!att) continue;
        for (int j = 0; j < Tk; j++) at[j] = pr[j] * inv[r];
        for (int j = Tk; j < T; j++) at[j] = 0.0f;
    }
}

void lq_bert_attn_head_avx512(float *out, float *att, const float *q, const float *k, const float *v, int T, int Tk,
                              int C, int hd, float *scratch) {
    const int Tp = (Tk + 15) & ~15;
    float *Kt = scratch, *p = scratch + (size_t)hd * Tp; // K transposed (hd, Tp), 4 rows of scores
    for (int i = 0; i < hd; i++) {
        for (int j = 0; j < Tk; j++) Kt[(size_t)i * Tp + j] = k[(size_t)j * C + i];
        for (int j = Tk; j < Tp; j++) Kt[(size_t)i * Tp + j] = 0.0f;
    }
    int t = 0;
    for (; t + 4 <= T; t += 4) attn_rows(out, att, q, v, Kt, p, t, 4, T, Tk, Tp, C, hd);
    for (; t < T; t++) attn_rows(out, att, q, v, Kt, p, t, 1, T, Tk, Tp, C, hd);
}

// codes of 16 values: nearbyint (half to even, the default MXCSR mode), clamped
static inline void codes16(int8_t *q, __m512 x, __m512 inv, __mmask16 m) {
    __m512i c = _mm512_cvtps_epi32(_mm512_mul_ps(x, inv));
    c = _mm512_max_epi32(_mm512_min_epi32(c, _mm512_set1_epi32(127)), _mm512_set1_epi32(-127));
    _mm512_mask_cvtepi32_storeu_epi8(q, m, c);
}

void lq_bert_quant_avx512(lq_i8_act *a, int rows, const float *X, const float *mul, float scale) {
    const int K = a->cols;
    for (int t = 0; t < rows; t++) {
        const float *x = X + (size_t)t * K;
        int8_t *q = a->q + (size_t)t * a->kp;
        float s = scale;
        if (s <= 0.0f) {
            __m512 mx = _mm512_setzero_ps();
            for (int k = 0; k < K; k += 16) {
                const __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
                __m512 v = _mm512_maskz_loadu_ps(m, x + k);
                if (mul) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, mul + k));
                mx = _mm512_max_ps(mx, _mm512_abs_ps(v));
            }
            s = _mm512_reduce_max_ps(mx) / 127.0f;
        }
        a->scale[t] = s;
        const __m512 inv = _mm512_set1_ps(s != 0.0f ? 1.0f / s : 0.0f);
        for (int k = 0; k < K; k += 16) {
            const __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
            __m512 v = _mm512_maskz_loadu_ps(m, x + k);
            if (mul) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, mul + k));
            codes16(q + k, v, inv, m);
        }
        for (int k = K; k < a->kp; k++) q[k] = 0;
    }
}

void lq_bert_add_layernorm_avx512(float *x, float *h, const float *w, const float *b, int C, float eps) {
    __m512 sum = _mm512_setzero_ps();
    for (int k = 0; k < C; k += 16) {
        const __mmask16 m = real_mask(C, k);
        const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, h + k), _mm512_maskz_loadu_ps(m, x + k));
        _mm512_mask_storeu_ps(h + k, m, v);
        sum = _mm512_add_ps(sum, v);
    }
    const float mean = _mm512_reduce_add_ps(sum) / (float)C;
    const __m512 mv = _mm512_set1_ps(mean);
    __m512 ss = _mm512_setzero_ps();
    for (int k = 0; k < C; k += 16) {
        const __mmask16 m = real_mask(C, k);
        const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, h + k), mv);
        ss = _mm512_fmadd_ps(d, d, ss);
    }
    const __m512 rstd = _mm512_set1_ps((float)(1.0 / sqrt((double)_mm512_reduce_add_ps(ss) / C + (double)eps)));
    for (int k = 0; k < C; k += 16) {
        const __mmask16 m = real_mask(C, k);
        const __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, h + k), mv), rstd);
        _mm512_mask_storeu_ps(x + k, m,
                              _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, w + k), _mm512_maskz_loadu_ps(m, b + k)));
    }
}
