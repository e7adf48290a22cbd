/* Attention of a few query rows of one head at once against keys stored
 * transposed, shared by BERT's bidirectional heads and the decoder's causal
 * prompt heads (include it from *_avx512.c files only). R rows run together
 * so that the score and value sums run R x 2 (R x hd/16) independent FMA
 * chains instead of one. */
#ifndef LQ_ATTN_ROWS_AVX512_H
#define LQ_ATTN_ROWS_AVX512_H

#include "kernels/vexp_avx512.h"

#include <immintrin.h>
#include <math.h>

/* Where the rows are: query row r of the group is q + (t + r) * qs, its
 * output out + (t + r) * qs; key j's value row v + j * vs; Kt (hd, Ks) the
 * keys transposed (zero past the last key); p R rows of Ks scores. Row r
 * sees keys [0, Tk + causal * r); Tg (a multiple of 16, <= Ks) bounds the
 * keys the group looks at. hd a multiple of 16 up to 64. */
typedef struct lq_attn_rows {
    const float *q, *v, *Kt;
    float *out, *p;
    int qs, vs, Ks, hd;
} lq_attn_rows;

static inline __mmask16 lq_attn_real_mask(int Tk, int j0) {
    return Tk - j0 >= 16 ? (__mmask16)0xFFFF : Tk <= j0 ? 0 : (__mmask16)((1u << (Tk - j0)) - 1);
}

/* Scaled scores of R rows against nb (1 or 2) blocks of 16 keys from j0 into
 * p, with the running maxima over each row's real keys. */
static inline __attribute__((always_inline)) void lq_attn_score_block(const lq_attn_rows *a, __m512 mx[4], int t,
                                                                      int R, int nb, int j0, int Tk, int causal,
                                                                      __m512 scale) {
    __m512 acc[2][4];
    for (int b = 0; b < nb; b++)
        for (int r = 0; r < R; r++) acc[b][r] = _mm512_setzero_ps();
    for (int i = 0; i < a->hd; i++) {
        __m512 kv[2];
        for (int b = 0; b < nb; b++) kv[b] = _mm512_loadu_ps(a->Kt + (size_t)i * a->Ks + j0 + 16 * b);
        for (int r = 0; r < R; r++) {
            const __m512 qb = _mm512_set1_ps(a->q[(size_t)(t + r) * a->qs + i]);
            for (int b = 0; b < nb; b++) acc[b][r] = _mm512_fmadd_ps(qb, kv[b], acc[b][r]);
        }
    }
    for (int b = 0; b < nb; b++)
        for (int r = 0; r < R; r++) {
            const __mmask16 real = lq_attn_real_mask(Tk + causal * r, j0 + 16 * b);
            acc[b][r] = _mm512_mul_ps(acc[b][r], scale);
            mx[r] = _mm512_mask_max_ps(mx[r], real, mx[r], acc[b][r]);
            _mm512_storeu_ps(a->p + (size_t)r * a->Ks + j0 + 16 * b, acc[b][r]);
        }
}

/* Rows [t, t + R), R <= 4. att (T rows of T, may be NULL): the
 * probabilities, zero past each row's keys. */
static inline void lq_attn_rows_avx512(const lq_attn_rows *a, float *att, int t, int R, int T, int Tk, int causal,
                                       int Tg) {
    const __m512 scale = _mm512_set1_ps(1.0f / sqrtf((float)a->hd));
    const int nv = a->hd / 16, Tmax = Tk + causal * (R - 1);
    __m512 mx[4];
    for (int r = 0; r < R; r++) mx[r] = _mm512_set1_ps(-INFINITY);
    /* scores 32 keys at a time (2R chains), then the last 16 if any */
    int j0 = 0;
    for (; j0 + 32 <= Tg; j0 += 32) lq_attn_score_block(a, mx, t, R, 2, j0, Tk, causal, scale);
    for (; j0 < Tg; j0 += 16) lq_attn_score_block(a, mx, t, R, 1, j0, Tk, causal, scale);
    float inv[4];
    for (int r = 0; r < R; r++) {
        float *pr = a->p + (size_t)r * a->Ks;
        const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx[r]));
        __m512 sum = _mm512_setzero_ps();
        for (int j = 0; j < Tg; j += 16) {
            const __m512 e = _mm512_maskz_mov_ps(lq_attn_real_mask(Tk + causal * r, j),
                                                 lq_exp_le0_avx512(_mm512_sub_ps(_mm512_loadu_ps(pr + j), m)));
            sum = _mm512_add_ps(sum, e);
            _mm512_storeu_ps(pr + j, e);
        }
        inv[r] = 1.0f / _mm512_reduce_add_ps(sum);
    }
    __m512 o[4][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < nv; c++) o[r][c] = _mm512_setzero_ps();
    for (int j = 0; j < Tmax; j++) { /* a row's probabilities are zero past its keys */
        const float *vj = a->v + (size_t)j * a->vs;
        for (int c = 0; c < nv; c++) {
            const __m512 vv = _mm512_loadu_ps(vj + 16 * c);
            for (int r = 0; r < R; r++)
                o[r][c] = _mm512_fmadd_ps(_mm512_set1_ps(a->p[(size_t)r * a->Ks + j]), vv, o[r][c]);
        }
    }
    for (int r = 0; r < R; r++) {
        float *ot = a->out + (size_t)(t + r) * a->qs;
        for (int c = 0; c < nv; c++) _mm512_storeu_ps(ot + 16 * c, _mm512_mul_ps(o[r][c], _mm512_set1_ps(inv[r])));
        if (!att) continue;
        const float *pr = a->p + (size_t)r * a->Ks;
        float *at = att + (size_t)(t + r) * T;
        int n = Tk + causal * r;
        for (int j = 0; j < n; j++) at[j] = pr[j] * inv[r];
        for (int j = n; j < T; j++) at[j] = 0.0f;
    }
}

/* Kt (hd, Ks) = K (n rows `ks` floats apart)^T, zero in columns [n, Ks) */
static inline void lq_attn_transpose_keys(float *Kt, const float *K, int n, int ks, int hd, int Ks) {
    for (int i = 0; i < hd; i++) {
        for (int j = 0; j < n; j++) Kt[(size_t)i * Ks + j] = K[(size_t)j * ks + i];
        for (int j = n; j < Ks; j++) Kt[(size_t)i * Ks + j] = 0.0f;
    }
}

#endif
