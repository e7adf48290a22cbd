/* AVX-512 VNNI W8A8 tile. vpdpbusd multiplies unsigned by signed bytes, so
 * the activations come as x + 128 (job->xu) and the sum is corrected by
 * 128 * rowsum(w) (packed with the weights): sum (x + 128) w - 128 sum w =
 * sum x w, exact modulo 2^32 and so exact whenever the true sum fits.
 *
 * Register block: up to 6 rows of X times a panel's 4 zmm of weights (64
 * columns), 24 accumulators. One panel's weights over KC groups of 4 inputs
 * (KC * 256 bytes, 64 KiB, held in L2) stay in cache while every row block
 * of the chunk (interleaved into one stream: i8mm.h) passes over them; the
 * int32 sums live in a chunk x 64 block between K blocks. With 6 rows or
 * fewer (generation) the whole K runs in one pass, streaming each
 * weight once. The epilogue follows kernels/ref/i8mm_ref.c. */
#include <immintrin.h>
#include <string.h>

#include "kernels/i8mm.h"

#define INLINE static inline __attribute__((always_inline))

enum { MR = LQ_I8_XROWS, KC = 256 /* groups of 4 inputs per K block */ };

INLINE int32_t load4(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* acc (mr rows, stride 64) += a block of interleaved xu rows . panel
 * weights, over ng groups of 4 inputs; first: start from zero instead of acc. */
INLINE void block(const int mr, const int nb, int32_t *acc, const uint8_t *xu, const int8_t *w, int ng,
                  bool first) {
    __m512i c[MR][4];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nb; j++)
            c[i][j] = first ? _mm512_setzero_si512() : _mm512_load_si512(acc + i * 64 + j * 16);
    for (int g = 0; g < ng; g++) {
        __m512i b[4];
        for (int j = 0; j < nb; j++) b[j] = _mm512_load_si512(w + ((size_t)g * nb + j) * 64);
        for (int i = 0; i < mr; i++) {
            const __m512i a = _mm512_set1_epi32(load4(xu + ((size_t)g * MR + i) * 4));
            for (int j = 0; j < nb; j++) c[i][j] = _mm512_dpbusd_epi32(c[i][j], a, b[j]);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nb; j++) _mm512_store_si512(acc + i * 64 + j * 16, c[i][j]);
}

#define CASE(mr, nb) \
    case (mr) * 4 + (nb) - 1: block(mr, nb, acc, xu, w, ng, first); break;
#define CASES(mr) CASE(mr, 1) CASE(mr, 2) CASE(mr, 3) CASE(mr, 4)

static void block_any(int mr, int nb, int32_t *acc, const uint8_t *xu, const int8_t *w, int ng, bool first) {
    switch (mr * 4 + nb - 1) {
        CASES(1) CASES(2) CASES(3) CASES(4) CASES(5) CASES(6)
    default: break;
    }
}

void lq_i8_tile_avx512(const lq_i8_job *job, int t0, int t1, int p) {
    const lq_i8_act *X = job->X;
    const lq_i8_packed *W = job->W;
    const int nb = W->n_blocks - 4 * p < 4 ? W->n_blocks - 4 * p : 4;
    const int8_t *wp = W->w + (size_t)p * 64 * (size_t)W->kp;
    const size_t ldx = (size_t)X->kp, gstride = (size_t)nb * 64;
    const int ng = W->kp / 4, kc = t1 - t0 <= MR ? ng : KC;
    _Alignas(64) int32_t acc[LQ_I8_MC * 64];

    for (int g0 = 0; g0 < ng; g0 += kc) {
        const int gn = ng - g0 < kc ? ng - g0 : kc;
        for (int t = t0; t < t1; t += MR) {
            const int mr = t1 - t < MR ? t1 - t : MR;
            block_any(mr, nb, acc + (size_t)(t - t0) * 64, job->xu + (size_t)t * ldx + (size_t)g0 * 4 * MR,
                      wp + (size_t)g0 * gstride, gn, g0 == 0);
        }
    }

    /* epilogue: s = sx * sw, y = (float)acc * s, y + bias */
    for (int t = t0; t < t1; t++) {
        const __m512 sx = _mm512_set1_ps(X->scale[t]);
        for (int j = 0; j < nb; j++) {
            const int n0 = 64 * p + 16 * j;
            const int left = W->rows - n0;
            const __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            const __m512i sum = _mm512_load_si512(acc + (size_t)(t - t0) * 64 + 16 * j);
            const __m512i dot = _mm512_sub_epi32(sum, _mm512_slli_epi32(_mm512_load_si512(W->rowsum + n0), 7));
            const size_t o = (size_t)t * W->rows + n0;
            if (job->acc) _mm512_mask_storeu_epi32(job->acc + o, m, dot);
            const __m512 s = _mm512_mul_ps(sx, _mm512_load_ps(W->scale + n0));
            __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(dot), s);
            if (job->bias) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, job->bias + n0));
            _mm512_mask_storeu_ps(job->Y + o, m, y);
        }
    }
}
