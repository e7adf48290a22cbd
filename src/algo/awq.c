/* AWQ: scale search and group clipping against the layer's output error. */
#include "algo/awq.h"

#include "algo/rtn.h"
#include "kernels/matmul.h"
#include "quant/types.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

lq_awq_params lq_awq_default_params(void) {
    lq_awq_params p = {20, true, 20, 0.5f};
    return p;
}

// x_mean (cols): mean |x| per input channel of X (n, cols)
static void act_mean(const float *X, int64_t n, int64_t cols, double *x_mean) {
    memset(x_mean, 0, (size_t)cols * sizeof *x_mean);
    for (int64_t t = 0; t < n; t++)
        for (int64_t c = 0; c < cols; c++) x_mean[c] += fabsf(X[t * cols + c]);
    for (int64_t c = 0; c < cols; c++) x_mean[c] /= (double)(n > 0 ? n : 1);
}

// w_mean (cols): mean over every row of every matrix of |w| / max|row|
static void weight_mean(const lq_awq_linear *lin, int n_lin, int64_t cols, double *w_mean) {
    memset(w_mean, 0, (size_t)cols * sizeof *w_mean);
    int64_t total = 0;
    for (int i = 0; i < n_lin; i++)
        for (int64_t r = 0; r < lin[i].rows; r++, total++) {
            const float *w = lin[i].W + r * cols;
            float m = 0;
            for (int64_t c = 0; c < cols; c++) m = (fabsf(w[c]) > m ? fabsf(w[c]) : m);
            for (int64_t c = 0; c < cols && m > 0; c++) w_mean[c] += fabsf(w[c]) / m;
        }
    for (int64_t c = 0; c < cols; c++) w_mean[c] /= (double)(total > 0 ? total : 1);
}

// s (cols) for exponent a; candidate 0 of the search is s = 1
static void make_scales(const double *x_mean, const double *w_mean, int64_t cols, double a, bool duo, float *s) {
    double lo = INFINITY, hi = 0;
    for (int64_t c = 0; c < cols; c++) {
        double v = pow(x_mean[c], a);
        if (duo && w_mean[c] > 0) v /= pow(w_mean[c], 1 - a);
        if (!(v >= 1e-4)) v = 1e-4; /* also catches NaN */
        s[c] = (float)v;
        lo = fmin(lo, v);
        hi = fmax(hi, v);
    }
    float norm = (float)sqrt(lo * hi); /* centre the scales around 1 */
    for (int64_t c = 0; c < cols; c++) s[c] /= norm;
}

// Summed squared output error of the matrices rounded with scales s:
// sum_i ||X (Q(W_i diag(s)) diag(1/s) - W_i)^T||^2; single-threaded
static llmq_status scaled_loss(const lq_awq_linear *lin, int n_lin, int64_t cols, const float *X, int64_t n,
                               const float *s, const lq_wquant *q, double *loss, lq_err *e) {
    int64_t max_rows = 0;
    for (int i = 0; i < n_lin; i++) max_rows = LQ_MAX(max_rows, lin[i].rows);
    float *ws = lq_malloc_array((size_t)(max_rows * cols), sizeof(float));
    float *y = lq_malloc_array((size_t)(max_rows * n), sizeof(float));
    llmq_status st = ws && y ? LLMQ_OK : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory in the AWQ search");
    *loss = 0;
    for (int i = 0; i < n_lin && st == LLMQ_OK; i++) {
        const lq_awq_linear *L = &lin[i];
        for (int64_t r = 0; r < L->rows; r++)
            for (int64_t c = 0; c < cols; c++) ws[r * cols + c] = L->W[r * cols + c] * s[c];
        if ((st = lq_fakequant(q, ws, L->rows, cols, L->type, ws, 1, e)) != LLMQ_OK) break;
        for (int64_t r = 0; r < L->rows; r++) // ws <- rounded - original, in the unscaled domain
            for (int64_t c = 0; c < cols; c++) ws[r * cols + c] = ws[r * cols + c] / s[c] - L->W[r * cols + c];
        // y (n, rows) = X (n, cols) . D^T
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)L->rows, (int)cols, 1.0f, X, (int)cols, ws,
                    (int)cols, 0.0f, y, (int)L->rows);
        double sum = 0;
        for (int64_t k = 0; k < n * L->rows; k++) sum += (double)y[k] * y[k];
        *loss += sum;
    }
    free(ws);
    free(y);
    return st;
}

llmq_status lq_awq_search(const lq_awq_linear *lin, int n_lin, int64_t cols, const float *X, int64_t n,
                          const lq_awq_params *p, const lq_wquant *q, float *s, double loss[2], int n_threads,
                          lq_err *e) {
    lq_awq_params P = p ? *p : lq_awq_default_params();
    LQ_CHECK(n_lin > 0 && cols > 0 && n > 0 && P.n_grid > 0, e, LLMQ_ERR_ARG, "AWQ: empty layer or sample");
    int n_cand = P.n_grid + 1; /* s = 1, then a = 0, 1/n_grid, ... */
    double *x_mean = calloc((size_t)cols, sizeof(double)), *w_mean = calloc((size_t)cols, sizeof(double));
    double *losses = calloc((size_t)n_cand, sizeof(double));
    llmq_status *sts = calloc((size_t)n_cand, sizeof *sts);
    float *scales = lq_malloc_array((size_t)n_cand * (size_t)cols, sizeof(float));
    if (!x_mean || !w_mean || !losses || !sts || !scales) {
        free(x_mean), free(w_mean), free(losses), free(sts), free(scales);
        return lq_fail(e, LLMQ_ERR_NOMEM, "out of memory in the AWQ search");
    }
    act_mean(X, n, cols, x_mean);
    weight_mean(lin, n_lin, cols, w_mean);
    for (int64_t c = 0; c < cols; c++) scales[c] = 1.0f;
    for (int k = 1; k < n_cand; k++)
        make_scales(x_mean, w_mean, cols, (double)(k - 1) / P.n_grid, P.duo_scaling, scales + (size_t)k * cols);
    /* each candidate on one thread with single-threaded BLAS: the losses,
     * and so the choice, do not depend on the thread count */
    lq_blas_threads(1);
    lq_err *errs = calloc((size_t)n_cand, sizeof *errs);
    #pragma omp parallel for num_threads(n_threads > 0 ? n_threads : lq_n_cpus()) schedule(dynamic, 1)
    for (int k = 0; k < n_cand; k++)
        sts[k] = scaled_loss(lin, n_lin, cols, X, n, scales + (size_t)k * cols, q, &losses[k], errs ? &errs[k] : NULL);
    int best = 0;
    llmq_status st = LLMQ_OK;
    for (int k = 0; k < n_cand && st == LLMQ_OK; k++) {
        if ((st = sts[k]) != LLMQ_OK && e && errs) *e = errs[k];
        if (losses[k] < losses[best]) best = k;
    }
    if (st == LLMQ_OK) memcpy(s, scales + (size_t)best * cols, (size_t)cols * sizeof(float));
    double per_value = 0;
    for (int i = 0; i < n_lin; i++) per_value += (double)n * lin[i].rows;
    if (loss && st == LLMQ_OK) {
        loss[0] = losses[0] / per_value;
        loss[1] = losses[best] / per_value;
    }
    free(x_mean), free(w_mean), free(losses), free(sts), free(scales), free(errs);
    return st;
}

int lq_awq_clip_group(uint32_t type, int64_t cols) {
    const lq_type_traits *tr = lq_type_get(type);
    if (!tr || tr->row_header || tr->blck_size < 16 || tr->blck_size > 128 || !tr->to_float) return 0;
    if (!lq_rtn_row_fn(type) || cols % tr->blck_size) return 0;
    return tr->blck_size;
}

static inline float clampf(float v, float m) { return v < -m ? -m : v > m ? m : v; }

// Candidate clipping ranges of one group: m0 (1 - i/clip_grid)
static int clip_steps(const lq_awq_params *P) { return LQ_MAX((int)(P->max_shrink * (float)P->clip_grid), 1); }

/* Best clip of the group at columns [c0, c0+g) of every row, in place. All
 * rows' candidates at once: D (rows * steps, g) holds w - Q(clip(w)), and
 * their output errors d^T H_g d come from one product D H_g. buf holds
 * 3 * rows * steps * g floats. */
static void clip_group(float *W, int64_t rows, int64_t cols, int64_t c0, int g, const float *H, uint32_t type,
                       const lq_awq_params *P, float *buf, void *blk) {
    const lq_type_traits *tr = lq_type_get(type);
    lq_from_float_ref_fn quant = lq_rtn_row_fn(type);
    int steps = clip_steps(P);
    size_t nd = (size_t)rows * steps * g;
    float *D = buf, *E = buf + nd, *cl = buf + 2 * nd;
    for (int64_t r = 0; r < rows; r++) {
        const float *w = W + r * cols + c0;
        float m0 = 0;
        for (int j = 0; j < g; j++) m0 = fabsf(w[j]) > m0 ? fabsf(w[j]) : m0;
        for (int i = 0; i < steps; i++) {
            float m = m0 * (1.0f - (float)i / (float)P->clip_grid), *d = D + ((size_t)r * steps + i) * g;
            for (int j = 0; j < g; j++) cl[j] = clampf(w[j], m);
            quant(cl, blk, g);
            tr->to_float(blk, d, g);
            for (int j = 0; j < g; j++) d[j] = w[j] - d[j];
        }
    }
    // E (rows * steps, g) = D H_g
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(rows * steps), g, g, 1.0f, D, g, H + c0 * cols + c0,
                (int)cols, 0.0f, E, g);
    for (int64_t r = 0; r < rows; r++) {
        float *w = W + r * cols + c0, m0 = 0;
        double best_err = INFINITY;
        int best = 0;
        for (int i = 0; i < steps; i++) {
            const float *d = D + ((size_t)r * steps + i) * g, *h = E + ((size_t)r * steps + i) * g;
            double err = 0;
            for (int j = 0; j < g; j++) err += (double)d[j] * h[j];
            if (err < best_err) best_err = err, best = i;
        }
        for (int j = 0; j < g; j++) m0 = fabsf(w[j]) > m0 ? fabsf(w[j]) : m0;
        float m = m0 * (1.0f - (float)best / (float)P->clip_grid);
        for (int j = 0; j < g; j++) w[j] = clampf(w[j], m);
    }
}

llmq_status lq_awq_clip(float *W, int64_t rows, int64_t cols, uint32_t type, const float *H, const lq_awq_params *p,
                        int n_threads, lq_err *e) {
    lq_awq_params P = p ? *p : lq_awq_default_params();
    int g = lq_awq_clip_group(type, cols);
    LQ_CHECK(g > 0, e, LLMQ_ERR_UNSUPPORTED, "AWQ clipping: %s has no independent groups in rows of %lld",
             lq_type_name(type), (long long)cols);
    LQ_CHECK(P.clip_grid > 0, e, LLMQ_ERR_ARG, "AWQ clipping: clip_grid must be positive");
    size_t blk_bytes = lq_row_size(type, g), nbuf = 3 * (size_t)rows * clip_steps(&P) * g;
    bool oom = false;
    /* groups in parallel, each with single-threaded BLAS: the same bits at any thread count */
    lq_blas_threads(1);
    #pragma omp parallel num_threads(n_threads > 0 ? n_threads : lq_n_cpus()) reduction(|| : oom)
    {
        float *buf = malloc(nbuf * sizeof(float));
        void *blk = malloc(blk_bytes);
        oom = !buf || !blk;
        #pragma omp for schedule(dynamic, 1)
        for (int64_t c0 = 0; c0 < cols; c0 += g)
            if (buf && blk) clip_group(W, rows, cols, c0, g, H, type, &P, buf, blk);
        free(buf);
        free(blk);
    }
    LQ_CHECK(!oom, e, LLMQ_ERR_NOMEM, "out of memory in AWQ clipping");
    return LLMQ_OK;
}
