/* AVX-512 GELU, attention head and activation quantization for BERT. */
#include "model/bert_fast.h"

#include "kernels/attn_rows_avx512.h"
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

void lq_bert_attn_head_avx512(float *out, float *att, const float *q, const float *k, const float *v, int T, int Tk,
                              int C, int hd, float *scratch) {
    const int Tp = (Tk + 15) & ~15;
    float *Kt = scratch, *p = scratch + (size_t)hd * Tp; // K transposed (hd, Tp), 4 rows of scores
    lq_attn_transpose_keys(Kt, k, Tk, C, hd, Tp);
    const lq_attn_rows a = {q, v, Kt, out, p, C, C, Tp, hd};
    int t = 0;
    for (; t + 4 <= T; t += 4) lq_attn_rows_avx512(&a, att, t, 4, T, Tk, 0, Tp);
    for (; t < T; t++) lq_attn_rows_avx512(&a, att, t, 1, T, Tk, 0, Tp);
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
        const __mmask16 m = lq_attn_real_mask(C, k);
        const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, h + k), _mm512_maskz_loadu_ps(m, x + k));
        _mm512_mask_storeu_ps(h + k, m, v);
        sum = _mm512_add_ps(sum, v);
    }
    const float mean = _mm512_reduce_add_ps(sum) / (float)C;
    const __m512 mv = _mm512_set1_ps(mean);
    __m512 ss = _mm512_setzero_ps();
    for (int k = 0; k < C; k += 16) {
        const __mmask16 m = lq_attn_real_mask(C, k);
        const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, h + k), mv);
        ss = _mm512_fmadd_ps(d, d, ss);
    }
    const __m512 rstd = _mm512_set1_ps((float)(1.0 / sqrt((double)_mm512_reduce_add_ps(ss) / C + (double)eps)));
    for (int k = 0; k < C; k += 16) {
        const __mmask16 m = lq_attn_real_mask(C, k);
        const __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, h + k), mv), rstd);
        _mm512_mask_storeu_ps(x + k, m,
                              _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, w + k), _mm512_maskz_loadu_ps(m, b + k)));
    }
}
