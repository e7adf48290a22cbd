/* AVX2 W8A8 tile (no VNNI). vpmaddubsw multiplies unsigned by signed bytes
 * into saturating int16 pairs; with |x| as the unsigned side and w * sign(x)
 * (vpsignb) as the signed one, each product is x * w and a pair sums to at
 * most 2 * 127 * 127 = 32258, so nothing saturates (the contract excludes
 * -128). vpmaddwd with ones then gives the exact sums of 4 products per
 * int32 lane: one ymm of packed weights is 8 rows x 4 inputs.
 *
 * Register block: up to 8 ymm accumulators, 4 rows of X times one 16-row
 * block (2 ymm), 2 x 2, or for one row a whole panel; K blocking as in the
 * AVX-512 tile. The epilogue follows
 * kernels/ref/i8mm_ref.c. */
#include <immintrin.h>
#include <string.h>

#include "kernels/i8mm.h"

#define INLINE static inline __attribute__((always_inline))

enum { MR = 4, KC = 64 /* groups of 4 inputs per K block */ };

INLINE int32_t load4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* acc (mr rows, stride 64, nbb blocks of 16 columns) += x rows . the
 * weights of nbb consecutive blocks (w; groups gstride bytes apart) over ng
 * groups of 4 inputs; first: start from zero instead of acc. */
INLINE void block(const int mr, const int nbb, int32_t *acc, const int8_t *x, size_t ldx, const int8_t *w,
                  size_t gstride, int ng, bool first) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i c[MR][8];
    for (int i = 0; i < mr; i++)
        for (int h = 0; h < 2 * nbb; h++)
            c[i][h] = first ? _mm256_setzero_si256() : _mm256_load_si256((const __m256i *)(acc + i * 64 + h * 8));
    for (int g = 0; g < ng; g++) {
        const int8_t *wg = w + (size_t)g * gstride;
        for (int i = 0; i < mr; i++) {
            const __m256i a = _mm256_set1_epi32(load4(x + i * ldx + 4 * (size_t)g));
            const __m256i ax = _mm256_sign_epi8(a, a);
            for (int h = 0; h < 2 * nbb; h++) {
                const __m256i b = _mm256_load_si256((const __m256i *)(wg + 32 * h));
                const __m256i prod = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(b, a));
                c[i][h] = _mm256_add_epi32(c[i][h], _mm256_madd_epi16(prod, ones));
            }
        }
    }
    for (int i = 0; i < mr; i++)
        for (int h = 0; h < 2 * nbb; h++) _mm256_store_si256((__m256i *)(acc + i * 64 + h * 8), c[i][h]);
}

/* Rows x blocks per call (at most 8 accumulators): 4 x 1, 2 x 2, 1 x up to 4
 * (generation reads a whole panel row in one pass). Returns the blocks done. */
static int block_any(int mr, int nb_left, int32_t *acc, const int8_t *x, size_t ldx, const int8_t *w,
                     size_t gstride, int ng, bool first) {
    switch (mr) {
    case 1:
        switch (nb_left) {
        case 1: block(1, 1, acc, x, ldx, w, gstride, ng, first); return 1;
        case 2: block(1, 2, acc, x, ldx, w, gstride, ng, first); return 2;
        case 3: block(1, 3, acc, x, ldx, w, gstride, ng, first); return 3;
        default: block(1, 4, acc, x, ldx, w, gstride, ng, first); return 4;
        }
    case 2:
        if (nb_left == 1) {
            block(2, 1, acc, x, ldx, w, gstride, ng, first);
            return 1;
        }
        block(2, 2, acc, x, ldx, w, gstride, ng, first);
        return 2;
    case 3: block(3, 1, acc, x, ldx, w, gstride, ng, first); return 1;
    default: block(4, 1, acc, x, ldx, w, gstride, ng, first); return 1;
    }
}

void lq_i8_tile_avx2(const lq_i8_job *job, int t0, int t1, int p) {
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
            for (int j = 0; j < nb;)
                j += block_any(mr, nb - j, acc + (size_t)(t - t0) * 64 + 16 * j, X->q + (size_t)t * ldx + 4 * (size_t)g0,
                               ldx, wp + (size_t)g0 * gstride + 64 * (size_t)j, gstride, gn, g0 == 0);
        }
    }

    /* epilogue: s = sx * sw, y = (float)acc * s, y + bias */
    for (int t = t0; t < t1; t++) {
        const __m256 sx = _mm256_set1_ps(X->scale[t]);
        for (int n0 = 64 * p; n0 < 64 * p + 16 * nb && n0 < W->rows; n0 += 8) {
            const __m256i dot = _mm256_load_si256((const __m256i *)(acc + (size_t)(t - t0) * 64 + (n0 - 64 * p)));
            const __m256 s = _mm256_mul_ps(sx, _mm256_load_ps(W->scale + n0));
            __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(dot), s);
            const int left = W->rows - n0 < 8 ? W->rows - n0 : 8;
            const size_t o = (size_t)t * W->rows + n0;
            _Alignas(32) float yb[8], bb[8] = {0};
            _Alignas(32) int32_t db[8];
            if (job->bias) {
                memcpy(bb, job->bias + n0, (size_t)left * sizeof *bb);
                y = _mm256_add_ps(y, _mm256_load_ps(bb));
            }
            _mm256_store_ps(yb, y);
            _mm256_store_si256((__m256i *)db, dot);
            memcpy(job->Y + o, yb, (size_t)left * sizeof *yb);
            if (job->acc) memcpy(job->acc + o, db, (size_t)left * sizeof *db);
        }
    }
}
