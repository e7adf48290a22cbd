/* AVX-512 Q8_0 quantizer of activation rows (kernels/activations.h):
 * bit-exact with the reference, lq_quant_q8_0_ref. */
#include "kernels/activations.h"

#include "quant/blocks.h"
#include "quant/types.h"

#include <immintrin.h>

void lq_quant_q8_0_avx512(const float *x, void *y, int64_t n) {
    block_q8_0 *b = y;
    const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
        __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        const float d = amax / ((1 << 7) - 1);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = lq_fp32_to_fp16(d);
        const __m512 vid = _mm512_set1_ps(id);
        __m512i q[2];
        for (int h = 0; h < 2; h++) {
            /* roundf: |v| truncated, one more where the rest is >= 0.5, the sign back */
            const __m512 v = _mm512_mul_ps(h ? v1 : v0, vid), a = _mm512_abs_ps(v);
            const __m512 t = _mm512_roundscale_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __m512 r = _mm512_mask_add_ps(t, _mm512_cmp_ps_mask(_mm512_sub_ps(a, t), half, _CMP_GE_OQ), t, one);
            const __m512 s = _mm512_castsi512_ps(_mm512_or_si512(
                _mm512_castps_si512(r), _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000))));
            q[h] = _mm512_cvttps_epi32(s);
        }
        _mm_storeu_si128((__m128i *)b[i].qs, _mm512_cvtepi32_epi8(q[0]));
        _mm_storeu_si128((__m128i *)(b[i].qs + 16), _mm512_cvtepi32_epi8(q[1]));
    }
}
