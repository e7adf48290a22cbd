/* AVX2 softmax and SwiGLU rows (kernels/activations.h), the AVX-512 file's
 * plan eight lanes wide. */
#include "kernels/activations.h"
#include "kernels/simd_avx2.h"
#include "kernels/vexp_avx2.h"

#include <immintrin.h>
#include <math.h>

void lq_softmax_avx2(float *row, int n) {
    __m256 vmx = _mm256_set1_ps(-INFINITY);
    for (int i = 0; i < n; i += 8) {
        const __m256i m = lq_live8((size_t)(n - i));
        vmx = _mm256_max_ps(vmx, _mm256_blendv_ps(vmx, _mm256_maskload_ps(row + i, m), _mm256_castsi256_ps(m)));
    }
    const __m256 inv = _mm256_set1_ps(1.0f / lq_exp_sum_avx2(row, n, lq_hmax8_ps(vmx)));
    for (int i = 0; i < n; i += 8) {
        const __m256i m = lq_live8((size_t)(n - i));
        _mm256_maskstore_ps(row + i, m, _mm256_mul_ps(_mm256_maskload_ps(row + i, m), inv));
    }
}

/* silu(x) = x * sigmoid(x), sigmoid from e = exp(-|x|) so the exp never overflows */
void lq_swiglu_avx2(float *g, const float *u, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    for (size_t i = 0; i < n; i += 8) {
        const __m256i m = lq_live8(n - i);
        const __m256 x = _mm256_maskload_ps(g + i, m);
        const __m256 e = lq_exp_le0_avx2(_mm256_or_ps(x, sign)); /* -|x| */
        const __m256 den = _mm256_add_ps(one, e);
        const __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
        const __m256 sig = _mm256_div_ps(_mm256_blendv_ps(one, e, neg), den);
        _mm256_maskstore_ps(g + i, m, _mm256_mul_ps(_mm256_mul_ps(x, sig), _mm256_maskload_ps(u + i, m)));
    }
}
