/* F16 / BF16 rows x F32 activations, AVX2: two ymm hold the reference's 16
 * running sums (lanes 0-7 and 8-15, qdot_float_ref.c); the tail goes through
 * the same scalar steps as the reference. */
#include "kernels/qdot.h"

#include "kernels/simd_avx2.h"
#include "quant/types.h"

#include <immintrin.h>
#include <math.h>

/* No software prefetch: one stream of 2 bytes per weight is what the
 * hardware prefetcher handles best; prefetching 2 KiB ahead, as the
 * quantized kernels do, cost 3-10 % (docs/KERNELS.md, fourth pass). */

static inline __m256 load_f16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

static inline __m256 load_bf16(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

#define FLOAT_ROWS_AVX2(name, load, conv)                                                                  \
    void lq_qdot_##name##_avx2(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0,   \
                               int r1) {                                                                   \
        const float *x = xq;                                                                               \
        int full = n / 16 * 16;                                                                            \
        for (int r = r0; r < r1; r++) {                                                                    \
            const uint16_t *w = (const uint16_t *)((const char *)W + (size_t)r * row_bytes);               \
            __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();                                     \
            for (int i = 0; i < full; i += 16) {                                                           \
                lo = _mm256_fmadd_ps(load(w + i), _mm256_loadu_ps(x + i), lo);                             \
                hi = _mm256_fmadd_ps(load(w + i + 8), _mm256_loadu_ps(x + i + 8), hi);                     \
            }                                                                                              \
            if (full < n) {                                                                                \
                float s[16];                                                                               \
                _mm256_storeu_ps(s, lo);                                                                   \
                _mm256_storeu_ps(s + 8, hi);                                                               \
                for (int i = full; i < n; i++) s[i % 16] = fmaf(conv(w[i]), x[i], s[i % 16]);              \
                lo = _mm256_loadu_ps(s);                                                                   \
                hi = _mm256_loadu_ps(s + 8);                                                               \
            }                                                                                              \
            y[r] = lq_hsum8_ps(_mm256_add_ps(lo, hi));                                                         \
        }                                                                                                  \
    }

FLOAT_ROWS_AVX2(f16, load_f16, lq_fp16_to_fp32)
FLOAT_ROWS_AVX2(bf16, load_bf16, lq_bf16_to_fp32)
