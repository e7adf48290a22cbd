/* Element grids of quantized rows: given a row whose block scales are already
 * chosen, the values element j can still take (one per code k), and a way to
 * write code k for element j into the packed row. Methods that pick codes
 * themselves (GPTQ) round against these grids instead of re-deriving each
 * format's decoding.
 *
 * Two shapes:
 *   affine:    value = a * (float)k + b,  k integer in [kmin, kmax]
 *   code book: value = a * book[k],       k in [0, n)
 * a and b are computed the way the type's dequantizer computes them, so
 * lq_grid_value(g, k) equals the dequantized float bit for bit (formats
 * without an offset get b = -0.0f: x + -0.0f is x for every x, -0.0 too). */
#ifndef LQ_QUANT_GRID_H
#define LQ_QUANT_GRID_H

#include <stdbool.h>
#include <stdint.h>

typedef enum lq_grid_kind { LQ_GRID_AFFINE, LQ_GRID_BOOK } lq_grid_kind;

typedef struct lq_grid {
    lq_grid_kind kind;
    float a, b;         /* affine: scale and offset; book: scale (b unused) */
    int kmin, kmax;     /* codes allowed: affine [kmin, kmax]; book [0, n) */
    const float *book;  /* book only: n values */
    int n;              /* book only */
} lq_grid;

/* True when lq_grid_elem / lq_grid_set handle type: Q4_0, Q4_1, Q5_0, Q5_1,
 * Q8_0, IQ4_NL, Q2_K..Q6_K, I8_CH, the group INTn types, NF4, F8_E4M3_*. */
bool lq_grid_supported(uint32_t type);

/* Grid of element j of row (the start of a row of `type`, row header
 * included) given the scales stored in the row. false: type unsupported. */
bool lq_grid_elem(uint32_t type, const void *row, int64_t j, lq_grid *g);

/* Writes code k (in the grid's range) for element j into row; the other
 * elements and the scales are left as they are. */
void lq_grid_set(uint32_t type, void *row, int64_t j, int k);

static inline float lq_grid_value(const lq_grid *g, int k) {
    return g->kind == LQ_GRID_AFFINE ? g->a * (float)k + g->b : g->a * g->book[k];
}

/* Code of the grid value nearest to v (ties: the code found first, i.e.
 * the rounded one for affine grids, the lower one for books). */
int lq_grid_nearest(const lq_grid *g, float v);

#endif
