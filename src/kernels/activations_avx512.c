/* AVX-512 softmax and SwiGLU rows (kernels/activations.h). */
#include "kernels/activations.h"
#include "kernels/vexp_avx512.h"

#include <immintrin.h>
#include <math.h>

static inline __mmask16 live(size_t left) { return left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1); }

void lq_softmax_avx512(float *row, int n) {
    __m512 vmx = _mm512_set1_ps(-INFINITY);
    for (int i = 0; i < n; i += 16) vmx = _mm512_max_ps(vmx, _mm512_mask_loadu_ps(vmx, live((size_t)(n - i)), row + i));
    const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmx));
    __m512 vs = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = live((size_t)(n - i));
        __m512 e = _mm512_maskz_mov_ps(m, lq_exp_le0_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + i), mx)));
        _mm512_mask_storeu_ps(row + i, m, e);
        vs = _mm512_add_ps(vs, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vs));
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = live((size_t)(n - i));
        _mm512_mask_storeu_ps(row + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + i), inv));
    }
}

/* silu(x) = x * sigmoid(x), sigmoid from e = exp(-|x|) so the exp never overflows */
void lq_swiglu_avx512(float *g, const float *u, size_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = live(n - i);
        __m512 x = _mm512_maskz_loadu_ps(m, g + i);
        __m512 e = lq_exp_le0_avx512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)));
        __m512 den = _mm512_add_ps(one, e);
        __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
        __m512 sig = _mm512_div_ps(_mm512_mask_blend_ps(neg, one, e), den);
        _mm512_mask_storeu_ps(g + i, m, _mm512_mul_ps(_mm512_mul_ps(x, sig), _mm512_maskz_loadu_ps(m, u + i)));
    }
}
