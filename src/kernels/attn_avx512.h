/* Pieces shared by the AVX-512 single-query attention kernels (include it
 * from *_avx512.c files only). */
#ifndef LQ_ATTN_AVX512_H
#define LQ_ATTN_AVX512_H

#include "kernels/vexp_avx512.h"

#include <immintrin.h>

/* a[j] holds 16 partial sums of key j; returns the 16 totals, key j in lane j */
static inline __m512 lq_attn_reduce16(__m512 a[16]) {
    /* pairs: lanes of a[2i] and a[2i+1] interleaved, then added: 8 vectors of 2 keys x 8 sums */
    __m512 b[8], c[4], d[2];
    for (int i = 0; i < 8; i++)
        b[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
    /* b[i]: per 128-bit lane: (k2i, k2i+1, k2i, k2i+1) partials */
    for (int i = 0; i < 4; i++) {
        __m512 lo = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(b[2 * i]), _mm512_castps_pd(b[2 * i + 1])));
        __m512 hi = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(b[2 * i]), _mm512_castps_pd(b[2 * i + 1])));
        c[i] = _mm512_add_ps(lo, hi); /* per 128-bit lane: keys 4i..4i+3, one partial per lane */
    }
    /* c[i] lane L (of 4) holds keys 4i..4i+3 partial L: add across the four 128-bit lanes */
    for (int i = 0; i < 2; i++) {
        __m512 x = _mm512_shuffle_f32x4(c[2 * i], c[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0));
        __m512 y = _mm512_shuffle_f32x4(c[2 * i], c[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1));
        d[i] = _mm512_add_ps(x, y); /* lanes: keys 4(2i).., 4(2i).., 4(2i+1).., 4(2i+1).. (two partials each) */
    }
    __m512 x = _mm512_shuffle_f32x4(d[0], d[1], _MM_SHUFFLE(2, 0, 2, 0));
    __m512 y = _mm512_shuffle_f32x4(d[0], d[1], _MM_SHUFFLE(3, 1, 3, 1));
    return _mm512_add_ps(x, y); /* 128-bit lane m: keys 4m..4m+3 */
}

/* scores[0..P) -> exp(s - mx) in place (mx: their maximum); returns 1 / sum */
static inline float lq_attn_softmax_avx512(float *scores, int P, float mx) {
    __m512 vsum = _mm512_setzero_ps(), m = _mm512_set1_ps(mx);
    for (int j = 0; j < P; j += 16) {
        __mmask16 live = P - j >= 16 ? 0xFFFF : (__mmask16)((1u << (P - j)) - 1);
        __m512 e = lq_exp_le0_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(live, scores + j), m));
        e = _mm512_maskz_mov_ps(live, e);
        _mm512_mask_storeu_ps(scores + j, live, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    return 1.0f / _mm512_reduce_add_ps(vsum);
}

#endif
