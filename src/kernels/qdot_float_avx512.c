/* F16 / BF16 rows x F32 activations, AVX-512: one zmm of 16 running sums is
 * exactly the reference's 16 sums (qdot_float_ref.c); the tail is a masked
 * load whose missing lanes keep their sums (masked add). ROWS rows at a
 * time, one add chain each. */
#include "kernels/qdot.h"

#include <immintrin.h>

/* Rows side by side: their add chains overlap, and their weight streams
 * keep DRAM busy. On a Zen 4 (16384 x 4096 GEMV, 2 threads, in-process
 * A/B) eight streamed 1.03-1.11x as fast as four, twelve 1.03-1.09x as
 * fast as eight in 8 of 10 pairs (0.86x and 0.95x in the other two),
 * fourteen 0.86-0.90x and sixteen 0.76-0.83x (registers run out), and one
 * row with four chains (a 64-sum reference order) 0.60-0.77x. */
#define ROWS 12

static inline float fold(__m512 v) {
    __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)); /* s[j] + s[j+8] */
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));       /* + s[j+4] */
    __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));                                       /* + s[j+2] */
    return _mm_cvtss_f32(_mm_add_ss(c, _mm_movehdup_ps(c)));                             /* s0 + s1 */
}

static inline __m512 load_f16(const uint16_t *p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

static inline __m512 load_bf16(const uint16_t *p, __mmask16 m) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}

/* acc = fma(w[i..i+16), x[i..i+16), acc) lane-wise; m masks a tail (missing lanes keep their sums) */
#define STEP(load, acc, w, xv, i, m) acc = _mm512_mask3_fmadd_ps(load((w) + (i), m), xv, acc, m)

#define FLOAT_ROWS_AVX512(name, load)                                                                           \
    void lq_qdot_##name##_avx512(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0,      \
                                 int r1) {                                                                      \
        const float *x = xq;                                                                                    \
        int full = n / 16 * 16;                                                                                 \
        __mmask16 tail = (__mmask16)((1u << (n - full)) - 1);                                                   \
        __m512 xt = _mm512_maskz_loadu_ps(tail, x + full);                                                      \
        int r = r0;                                                                                             \
        for (; r + ROWS - 1 < r1; r += ROWS) { /* ROWS add chains side by side */                               \
            const uint16_t *a[ROWS];                                                                            \
            __m512 sa[ROWS];                                                                                    \
            for (int k = 0; k < ROWS; k++)                                                                      \
                a[k] = (const uint16_t *)((const char *)W + (size_t)(r + k) * row_bytes), sa[k] = _mm512_setzero_ps(); \
            for (int i = 0; i < full; i += 16) {                                                                \
                __m512 xv = _mm512_loadu_ps(x + i);                                                             \
                for (int k = 0; k < ROWS; k++) STEP(load, sa[k], a[k], xv, i, 0xFFFF);                          \
            }                                                                                                   \
            if (tail)                                                                                           \
                for (int k = 0; k < ROWS; k++) STEP(load, sa[k], a[k], xt, full, tail);                         \
            for (int k = 0; k < ROWS; k++) y[r + k] = fold(sa[k]);                                              \
        }                                                                                                       \
        for (; r < r1; r++) {                                                                                   \
            const uint16_t *a = (const uint16_t *)((const char *)W + (size_t)r * row_bytes);                    \
            __m512 sa = _mm512_setzero_ps();                                                                    \
            for (int i = 0; i < full; i += 16) STEP(load, sa, a, _mm512_loadu_ps(x + i), i, 0xFFFF);            \
            if (tail) STEP(load, sa, a, xt, full, tail);                                                        \
            y[r] = fold(sa);                                                                                    \
        }                                                                                                       \
    }

FLOAT_ROWS_AVX512(f16, load_f16)
FLOAT_ROWS_AVX512(bf16, load_bf16)
