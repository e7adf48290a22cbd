/* AVX-512 single-query attention (head size a multiple of 16).
 *
 * Scores go 16 keys at a time: each key's 16 partial sums are folded with
 * the other keys' by a transpose-and-add tree, so one vector holds 16 scores
 * (instead of one horizontal reduction per key). The softmax uses a vector
 * exp (Cephes' expf polynomial with the 2^n step done by vscalefps, within
 * 2 ulp of expf). The result stays within the tests' limit of a double
 * reference, not bit-equal to the scalar reference. */
#include "kernels/attention.h"
#include "kernels/vexp_avx512.h"

#include <immintrin.h>
#include <math.h>

/* a[j] holds 16 partial sums of key j; returns the 16 totals, key j in lane j */
static inline __m512 reduce16(__m512 a[16]) {
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

void lq_attn_row_f32_avx512(float *out, const float *q, const float *K, const float *V, int P, int hd, int stride,
                            float scale, float *scores) {
    if (hd % 16 || hd > 256) {
        lq_attn_row_f32_ref(out, q, K, V, P, hd, stride, scale, scores);
        return;
    }
    int nv = hd / 16;
    __m512 qv[16], acc[16];
    for (int b = 0; b < nv; b++) qv[b] = _mm512_loadu_ps(q + 16 * b);
    __m512 vmx = _mm512_set1_ps(-INFINITY), vs = _mm512_set1_ps(scale);
    int j = 0;
    for (; j + 16 <= P; j += 16) {
        __m512 part[16];
        for (int t = 0; t < 16; t++) {
            const float *k = K + (size_t)(j + t) * stride;
            __m512 s = _mm512_mul_ps(_mm512_loadu_ps(k), qv[0]);
            for (int b = 1; b < nv; b++) s = _mm512_fmadd_ps(_mm512_loadu_ps(k + 16 * b), qv[b], s);
            part[t] = s;
        }
        __m512 sc = _mm512_mul_ps(reduce16(part), vs);
        _mm512_storeu_ps(scores + j, sc);
        vmx = _mm512_max_ps(vmx, sc);
    }
    float mx = _mm512_reduce_max_ps(vmx);
    for (; j < P; j++) {
        const float *k = K + (size_t)j * stride;
        __m512 s = _mm512_mul_ps(_mm512_loadu_ps(k), qv[0]);
        for (int b = 1; b < nv; b++) s = _mm512_fmadd_ps(_mm512_loadu_ps(k + 16 * b), qv[b], s);
        scores[j] = _mm512_reduce_add_ps(s) * scale;
        mx = scores[j] > mx ? scores[j] : mx;
    }
    __m512 vsum = _mm512_setzero_ps(), m = _mm512_set1_ps(mx);
    for (j = 0; j < P; j += 16) {
        __mmask16 live = P - j >= 16 ? 0xFFFF : (__mmask16)((1u << (P - j)) - 1);
        __m512 e = lq_exp_le0_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(live, scores + j), m));
        e = _mm512_maskz_mov_ps(live, e);
        _mm512_mask_storeu_ps(scores + j, live, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    float inv = 1.0f / _mm512_reduce_add_ps(vsum);
    for (int b = 0; b < nv; b++) acc[b] = _mm512_setzero_ps();
    for (j = 0; j < P; j++) {
        const float *v = V + (size_t)j * stride;
        __m512 p = _mm512_set1_ps(scores[j] * inv);
        for (int b = 0; b < nv; b++) acc[b] = _mm512_fmadd_ps(p, _mm512_loadu_ps(v + 16 * b), acc[b]);
    }
    for (int b = 0; b < nv; b++) _mm512_storeu_ps(out + 16 * b, acc[b]);
}
