/* AVX-512 GEMV over float weights: four rows per pass share each load of x;
 * masked loads handle the tail so any width works. */
#include "kernels/matmul.h"

#include <immintrin.h>

static void dot4(float *y, const float *w0, const float *x, int in) {
    const float *w1 = w0 + in, *w2 = w1 + in, *w3 = w2 + in;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= in; i += 16) {
        __m512 xv = _mm512_loadu_ps(x + i);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + i), xv, a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w1 + i), xv, a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w2 + i), xv, a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w3 + i), xv, a3);
    }
    if (i < in) {
        __mmask16 m = (__mmask16)((1u << (in - i)) - 1);
        __m512 xv = _mm512_maskz_loadu_ps(m, x + i);
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w0 + i), xv, a0);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w1 + i), xv, a1);
        a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w2 + i), xv, a2);
        a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w3 + i), xv, a3);
    }
    y[0] = _mm512_reduce_add_ps(a0);
    y[1] = _mm512_reduce_add_ps(a1);
    y[2] = _mm512_reduce_add_ps(a2);
    y[3] = _mm512_reduce_add_ps(a3);
}

static float dot1(const float *w, const float *x, int in) {
    __m512 a = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= in; i += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), _mm512_loadu_ps(x + i), a);
    if (i < in) {
        __mmask16 m = (__mmask16)((1u << (in - i)) - 1);
        a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + i), _mm512_maskz_loadu_ps(m, x + i), a);
    }
    return _mm512_reduce_add_ps(a);
}

void lq_gemv_f32_avx512(float *y, const float *x, const float *W, int in, int r0, int r1) {
    int r = r0;
    for (; r + 4 <= r1; r += 4) dot4(y + r, W + (size_t)r * in, x, in);
    for (; r < r1; r++) y[r] = dot1(W + (size_t)r * in, x, in);
}
