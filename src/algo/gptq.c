/* GPTQ over element grids. Steps (the paper's Algorithm 1 with lazy batch
 * updates):
 *   1. dead columns (H_ii == 0): W column 0, H_ii = 1;
 *   2. act_order: columns permuted by descending diag(H);
 *   3. H += damp * mean(diag(H)) * I; U = upper Cholesky factor of H^-1
 *      (double precision: H of real layers is badly conditioned);
 *   4. per batch of bs columns and per row: round column i to its grid,
 *      err = (w_i - q_i) / U_ii, w_t -= err * U_it for the batch's later
 *      columns t; then one sgemm pushes the batch's errors onto all later
 *      columns: W[:, i2:] -= Err (rows, bs) . U[i1:i2, i2:].
 * Rows are independent given U, so threads split rows and each row's floats
 * are reduced in one fixed order: the bytes do not depend on n_threads (the
 * sgemm does not see n_threads at all). */
#include "algo/gptq.h"

#include "quant/grid.h"
#include "quant/quantize_imatrix.h"
#include "quant/quantize.h"
#include "quant/types.h"

#include <cblas.h>
#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

lq_gptq_params lq_gptq_default_params(void) { return (lq_gptq_params){.damp = 0.01f, .block = 128, .act_order = false}; }

typedef struct gptq_ctx {
    uint32_t type;
    int64_t rows, cols;
    int blck;            /* format block; 1 for per-row-scale types */
    size_t type_size, row_bytes;
    bool static_scales;  /* every scale chosen before the sweep */
    int64_t bs;          /* lazy batch: whole format blocks */
    int64_t *perm;       /* (cols) sweep position -> original column */
    float *hdiag;        /* (cols) diag(H) after the dead-column fix, original order */
    float *Wp;           /* (rows, cols) working weights, sweep order */
    float *U;            /* (cols, cols) upper Cholesky factor of H^-1, sweep order */
    float *Err;          /* (rows, bs) scaled errors of the current batch */
    uint8_t *out;        /* rows * row_bytes */
} gptq_ctx;

/* Scales (and provisional codes) of one format block, or of a whole row for
 * per-row-scale types: x (n) through the type's reference quantizer into
 * dst, as lq_rtn_quantize would for these values. importance (n values, the
 * diagonal of H; may be NULL) is not read by the reference quantizers: it is
 * the hook for importance-weighted ones. */
static void choose_block(uint32_t type, const float *x, int64_t n, void *dst, const float *importance) {
    /* llama-quantize's importance-weighted quantizer, weighted by diag(H) */
    if (importance && lq_imatrix_supported(type)) lq_quantize_rows_imatrix(type, x, dst, 1, n, importance);
    else if (type == LQ_TYPE_IQ4_NL) lq_quant_iq4_nl(x, dst, n); /* llama-quantize's IQ4_NL, as rtn */
    else lq_type_get(type)->from_float_ref(x, dst, n);
}

/* ---------------------------------------------------------------- Hessian */

/* Hd (cols, cols) double copy of H with dead columns fixed; zeroes those
 * columns of W0 (rows, cols) and fills hdiag. */
static void fix_dead(gptq_ctx *c, const float *H, double *Hd, float *W0) {
    const int64_t n = c->cols;
    for (int64_t i = 0; i < n * n; i++) Hd[i] = H[i];
    for (int64_t i = 0; i < n; i++) {
        if (Hd[i * n + i] == 0.0) {
            Hd[i * n + i] = 1.0;
            for (int64_t r = 0; r < c->rows; r++) W0[r * n + i] = 0.0f;
        }
        c->hdiag[i] = (float)Hd[i * n + i];
    }
}

typedef struct { float key; int64_t col; } diag_col;

/* descending diag(H); ties by column index so the order is total */
static int by_diag_desc(const void *pa, const void *pb) {
    const diag_col *a = pa, *b = pb;
    if (a->key != b->key) return a->key > b->key ? -1 : 1;
    return (a->col > b->col) - (a->col < b->col);
}

static bool order_columns(gptq_ctx *c, bool act_order) {
    for (int64_t i = 0; i < c->cols; i++) c->perm[i] = i;
    if (!act_order) return true;
    diag_col *dc = lq_malloc_array((size_t)c->cols, sizeof(diag_col));
    if (!dc) return false;
    for (int64_t i = 0; i < c->cols; i++) dc[i] = (diag_col){c->hdiag[i], i};
    qsort(dc, (size_t)c->cols, sizeof(diag_col), by_diag_desc);
    for (int64_t i = 0; i < c->cols; i++) c->perm[i] = dc[i].col;
    free(dc);
    return true;
}

/* A (n, n) = Hd permuted, plus damp * mean(diag) on the diagonal */
static void permute_damp(const gptq_ctx *c, const double *Hd, double *A, double damp) {
    const int64_t n = c->cols;
    double mean = 0.0;
    for (int64_t i = 0; i < n; i++) mean += Hd[i * n + i];
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) A[i * n + j] = Hd[c->perm[i] * n + c->perm[j]];
    for (int64_t i = 0; i < n; i++) A[i * n + i] += damp * mean;
}

/* A (n, n) SPD -> the upper factor U of A^-1 = U^T U, into c->U as float.
 * false when A is not positive definite. A is symmetric, so its row-major
 * lower triangle is the column-major upper one: LAPACK runs on it in place,
 * without the transposed copies LAPACKE's row-major wrappers make (a sixth
 * of GPTQ's own time went to those). */
static bool inverse_upper_factor(gptq_ctx *c, double *A) {
    const int n = (int)c->cols;
    if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', n, A, n) != 0) return false; /* row-major: L, A = L L^T */
    if (LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'U', n, A, n) != 0) return false; /* A^-1, row-major lower */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) A[(int64_t)i * n + j] = A[(int64_t)j * n + i];
    if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', n, A, n) != 0) return false; /* row-major: U^T U */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) c->U[i * n + j] = j >= i ? (float)A[i * n + j] : 0.0f;
    return true;
}

/* U from H; the dampening grows tenfold (up to 3 times) while the damped H
 * is still not numerically positive definite. */
static llmq_status build_factor(gptq_ctx *c, const double *Hd, double damp, lq_err *e) {
    double *A = lq_malloc_array((size_t)(c->cols * c->cols), sizeof(double));
    LQ_CHECK(A, e, LLMQ_ERR_NOMEM, "gptq: no memory for the Hessian");
    bool ok = false;
    for (int attempt = 0; attempt < 4 && !ok; attempt++) {
        permute_damp(c, Hd, A, damp);
        ok = inverse_upper_factor(c, A);
        damp = damp > 0.0 ? damp * 10.0 : 1e-3;
    }
    free(A);
    LQ_CHECK(ok, e, LLMQ_ERR_ARG, "gptq: H is not positive definite even with extra dampening");
    return LLMQ_OK;
}

/* ------------------------------------------------------------------ sweep */

/* Scales of every block of row r from the (dead-zeroed) original weights
 * W0 (rows, cols): act_order's static groups, and per-row-scale types. */
static void static_scales_row(const gptq_ctx *c, const float *W0, int64_t r) {
    const float *w = W0 + r * c->cols; /* (cols) original order */
    uint8_t *orow = c->out + (size_t)r * c->row_bytes;
    if (lq_type_get(c->type)->row_header) {
        choose_block(c->type, w, c->cols, orow, c->hdiag);
        return;
    }
    for (int64_t b = 0; b < c->cols / c->blck; b++)
        choose_block(c->type, w + b * c->blck, c->blck, orow + (size_t)b * c->type_size, c->hdiag + b * c->blck);
}

/* Columns [i1, i2) of row r: round each to its grid, spread the error over
 * the later columns of the batch, record it for the trailing update. */
static void sweep_row(const gptq_ctx *c, int64_t r, int64_t i1, int64_t i2) {
    float *w = c->Wp + r * c->cols;  /* (cols) sweep order */
    float *err = c->Err + r * c->bs; /* (bs) */
    uint8_t *orow = c->out + (size_t)r * c->row_bytes;
    lq_grid g;
    int64_t g_span = -1; /* the 16 columns g is the grid of (every format's scales cover whole 16s) */
    for (int64_t i = i1; i < i2; i++) {
        /* no permutation here: position i is column i, the block starts at i */
        if (!c->static_scales && i % c->blck == 0) {
            choose_block(c->type, w + i, c->blck, orow + (size_t)(i / c->blck) * c->type_size, c->hdiag + i);
            g_span = -1;
        }
        const int64_t j = c->perm[i];
        if (j / 16 != g_span) lq_grid_elem(c->type, orow, j, &g), g_span = j / 16;
        const int k = lq_grid_nearest(&g, w[i]);
        lq_grid_set(c->type, orow, j, k);
        const float *u = c->U + i * c->cols; /* (cols) row i of U */
        const float e = (w[i] - lq_grid_value(&g, k)) / u[i];
        err[i - i1] = e;
        #pragma omp simd
        for (int64_t t = i + 1; t < i2; t++) w[t] -= e * u[t];
    }
}

static void sweep(gptq_ctx *c, int nt) {
    for (int64_t i1 = 0; i1 < c->cols; i1 += c->bs) {
        const int64_t i2 = LQ_MIN(i1 + c->bs, c->cols);
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t r = 0; r < c->rows; r++) sweep_row(c, r, i1, i2);
        if (i2 == c->cols) break;
        // W[:, i2:] (rows, cols - i2) -= Err (rows, i2 - i1) . U[i1:i2, i2:] (i2 - i1, cols - i2)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->rows, (int)(c->cols - i2), (int)(i2 - i1),
                    -1.0f, c->Err, (int)c->bs, c->U + i1 * c->cols + i2, (int)c->cols, 1.0f, c->Wp + i2,
                    (int)c->cols);
    }
}

/* ------------------------------------------------------------------ entry */

static llmq_status check_args(const float *W, int64_t rows, int64_t cols, const float *H, uint32_t type,
                              const lq_gptq_params *p, const void *out, lq_err *e) {
    LQ_CHECK(W && H && out && p, e, LLMQ_ERR_ARG, "gptq: NULL argument");
    LQ_CHECK(rows > 0 && cols > 0 && rows <= INT32_MAX && cols <= INT32_MAX, e, LLMQ_ERR_SHAPE,
             "gptq: bad shape %lld x %lld", (long long)rows, (long long)cols);
    LQ_CHECK(p->block > 0 && p->damp >= 0.0f, e, LLMQ_ERR_ARG, "gptq: block must be > 0 and damp >= 0");
    LQ_CHECK(lq_grid_supported(type) && lq_type_get(type)->from_float_ref, e, LLMQ_ERR_UNSUPPORTED,
             "gptq: cannot quantize to %s", lq_type_name(type));
    LQ_CHECK(lq_row_size(type, cols), e, LLMQ_ERR_SHAPE, "gptq: rows of %lld values do not fit %s blocks",
             (long long)cols, lq_type_name(type));
    return LLMQ_OK;
}

static void ctx_free(gptq_ctx *c, double *Hd, float *W0) {
    free(c->perm);
    free(c->hdiag);
    free(c->Wp);
    free(c->U);
    free(c->Err);
    free(Hd);
    free(W0);
}

static void ctx_init(gptq_ctx *c, int64_t rows, int64_t cols, uint32_t type, const lq_gptq_params *p, void *out) {
    const lq_type_traits *tr = lq_type_get(type);
    *c = (gptq_ctx){.type = type, .rows = rows, .cols = cols, .blck = tr->blck_size, .type_size = tr->type_size,
                    .row_bytes = lq_row_size(type, cols), .out = out};
    c->static_scales = p->act_order || tr->row_header > 0;
    c->bs = (LQ_MAX(p->block, c->blck) + c->blck - 1) / c->blck * c->blck;
    c->perm = lq_malloc_array((size_t)cols, sizeof(int64_t));
    c->hdiag = lq_malloc_array((size_t)cols, sizeof(float));
    c->Wp = lq_malloc_array((size_t)(rows * cols), sizeof(float));
    c->U = lq_malloc_array((size_t)(cols * cols), sizeof(float));
    c->Err = lq_malloc_array((size_t)(rows * c->bs), sizeof(float));
}

llmq_status lq_gptq_quantize(const float *W, int64_t rows, int64_t cols, const float *H, uint32_t type,
                             const lq_gptq_params *p, void *out, int n_threads, lq_err *e) {
    const lq_gptq_params defaults = lq_gptq_default_params();
    if (!p) p = &defaults;
    LQ_TRY(check_args(W, rows, cols, H, type, p, out, e));
    const int nt = n_threads > 0 ? n_threads : lq_n_cpus();
    gptq_ctx c;
    ctx_init(&c, rows, cols, type, p, out);
    double *Hd = lq_malloc_array((size_t)(cols * cols), sizeof(double));
    float *W0 = lq_malloc_array((size_t)(rows * cols), sizeof(float)); /* W, dead columns zeroed */
    llmq_status st = LLMQ_OK;
    if (!c.perm || !c.hdiag || !c.Wp || !c.U || !c.Err || !Hd || !W0) {
        st = lq_fail(e, LLMQ_ERR_NOMEM, "gptq: no memory for a %lld x %lld layer", (long long)rows, (long long)cols);
    } else {
        memcpy(W0, W, (size_t)(rows * cols) * sizeof(float));
        fix_dead(&c, H, Hd, W0);
        st = order_columns(&c, p->act_order) ? build_factor(&c, Hd, p->damp, e)
                                              : lq_fail(e, LLMQ_ERR_NOMEM, "gptq: no memory");
    }
    if (st == LLMQ_OK) {
        // Wp (rows, cols) = W0 with columns in sweep order
        for (int64_t r = 0; r < rows; r++)
            for (int64_t i = 0; i < cols; i++) c.Wp[r * cols + i] = W0[r * cols + c.perm[i]];
        if (c.static_scales) {
            #pragma omp parallel for num_threads(nt) schedule(static)
            for (int64_t r = 0; r < rows; r++) static_scales_row(&c, W0, r);
        }
        sweep(&c, nt);
    }
    ctx_free(&c, Hd, W0);
    return st;
}
