/* GPTQ against round-to-nearest on real SmolLM2 layers with synthetic
 * correlated, heavy-tailed activations: lower layer-output error
 * ||X W^T - X Q^T||_F at 4 and 3 bits (with and without act_order), the same
 * bytes at 1 and 2 threads, a dead input channel, argument errors. */
#include "algo/gptq.h"
#include "quant/quantize_imatrix.h"
#include "algo/rtn.h"
#include "io/gguf.h"
#include "io/mapfile.h"
#include "kernels/matmul.h"
#include "quant/grid.h"
#include "quant/types.h"
#include "quant/types_llmq.h"
#include "test.h"

#include <stdint.h>

#define N_TOKENS 512
#define LAYER 5

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double urand(void) { /* (0, 1) */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}

static float gauss(void) { return (float)(sqrt(-2.0 * log(urand())) * cos(6.283185307179586 * urand())); }

/* X (N_TOKENS, cols): per-channel scales exp(N(0,1)) (log-normal: a heavy
 * tail of loud channels) times (noise + 8 shared factors), so channels are
 * correlated and their energies spread over orders of magnitude. */
static float *make_activations(int64_t cols) {
    float *X = malloc(sizeof(float) * N_TOKENS * (size_t)cols), *scale = malloc(sizeof(float) * (size_t)cols);
    float *V = malloc(sizeof(float) * 8 * (size_t)cols), u[8];
    for (int64_t c = 0; c < cols; c++) scale[c] = expf(gauss());
    for (int64_t i = 0; i < 8 * cols; i++) V[i] = 0.6f * gauss();
    for (int n = 0; n < N_TOKENS; n++) {
        for (int f = 0; f < 8; f++) u[f] = gauss();
        for (int64_t c = 0; c < cols; c++) {
            float v = gauss();
            for (int f = 0; f < 8; f++) v += u[f] * V[f * cols + c];
            X[n * cols + c] = scale[c] * v;
        }
    }
    free(scale);
    free(V);
    return X;
}

/* H (cols, cols) = X^T X */
static float *make_hessian(const float *X, int64_t cols) {
    float *Xt = malloc(sizeof(float) * N_TOKENS * (size_t)cols), *H = malloc(sizeof(float) * (size_t)(cols * cols));
    for (int n = 0; n < N_TOKENS; n++)
        for (int64_t c = 0; c < cols; c++) Xt[c * N_TOKENS + n] = X[n * cols + c];
    lq_matmul_f32(H, Xt, Xt, (int)cols, N_TOKENS, (int)cols, 2); // H = Xt . Xt^T
    free(Xt);
    return H;
}

/* ||X W^T - X deq(Q)^T||_F for Q rows of type t */
static double output_error(const float *X, const float *W, const void *Q, int64_t rows, int64_t cols, uint32_t t) {
    const size_t rb = lq_row_size(t, cols);
    float *D = malloc(sizeof(float) * (size_t)(rows * cols)), *Y = malloc(sizeof(float) * N_TOKENS * (size_t)rows);
    for (int64_t r = 0; r < rows; r++) {
        lq_type_get(t)->to_float((const uint8_t *)Q + r * rb, D + r * cols, cols);
        for (int64_t c = 0; c < cols; c++) D[r * cols + c] = W[r * cols + c] - D[r * cols + c];
    }
    lq_matmul_f32(Y, X, D, N_TOKENS, (int)cols, (int)rows, 2); // Y (N_TOKENS, rows)
    double s = 0.0;
    for (size_t i = 0; i < (size_t)N_TOKENS * (size_t)rows; i++) s += (double)Y[i] * Y[i];
    free(D);
    free(Y);
    return isfinite(s) ? sqrt(s) : INFINITY;
}

typedef struct layer {
    const char *name;
    int64_t rows, cols;
    float *W, *X, *H; /* W (rows, cols), X (N_TOKENS, cols), H (cols, cols) */
} layer;

/* blk.LAYER.<name>.weight as float from the F32 (or Q4_1) SmolLM2 file;
 * synthetic Gaussian weights of the same shape when neither is there. */
static float *load_weight(const char *name, int64_t rows, int64_t cols) {
    const char *files[2] = {"models/SmolLM2-135M-Instruct-F32.gguf", "models/SmolLM2-135M-Instruct-Q4_1.gguf"};
    const char *paths[2] = {TEST_PATH("models/SmolLM2-135M-Instruct-F32.gguf"),
                            TEST_PATH("models/SmolLM2-135M-Instruct-Q4_1.gguf")};
    float *W = malloc(sizeof(float) * (size_t)(rows * cols));
    char tname[64];
    snprintf(tname, sizeof tname, "blk.%d.%s.weight", LAYER, name);
    for (int f = 0; f < 2; f++) {
        lq_mapfile m;
        lq_err e = {0};
        lq_gguf *g = NULL;
        if (lq_map_open(paths[f], &m, &e) != LLMQ_OK) continue;
        const lq_gguf_tensor *t = NULL;
        if (lq_gguf_parse(m.data, m.len, &g, &e) == LLMQ_OK) t = lq_gguf_find_tensor(g, tname);
        const bool ok = t && t->ne[0] == cols && t->ne[1] == rows && lq_type_get(t->type)->to_float;
        if (ok) lq_type_get(t->type)->to_float(t->data, W, rows * cols);
        if (ok) printf("%s from %s\n", tname, files[f]);
        lq_gguf_free(g);
        lq_map_close(&m);
        if (ok) return W;
    }
    printf("SmolLM2 missing (run scripts/setup.sh): synthetic weights for %s\n", tname);
    for (int64_t i = 0; i < rows * cols; i++) W[i] = 0.02f * gauss();
    return W;
}

static layer make_layer(const char *name, int64_t rows, int64_t cols) {
    layer L = {name, rows, cols, load_weight(name, rows, cols), make_activations(cols), NULL};
    L.H = make_hessian(L.X, cols);
    return L;
}

static void free_layer(layer *L) {
    free(L->W);
    free(L->X);
    free(L->H);
}

/* GPTQ (plain and act_order) beats rtn on L at type t */
static void compare_rtn(const layer *L, uint32_t t) {
    const size_t bytes = lq_row_size(t, L->cols) * (size_t)L->rows;
    uint8_t *q = malloc(bytes);
    lq_err e = {0};
    CHECK(lq_rtn_quantize(L->W, L->rows, L->cols, t, q, 2, &e) == LLMQ_OK);
    const double rtn = output_error(L->X, L->W, q, L->rows, L->cols, t);
    lq_gptq_params p = lq_gptq_default_params();
    double err[2];
    for (int act = 0; act < 2; act++) {
        p.act_order = act;
        CHECK_MSG(lq_gptq_quantize(L->W, L->rows, L->cols, L->H, t, &p, q, 2, &e) == LLMQ_OK, "%s", e.msg);
        err[act] = output_error(L->X, L->W, q, L->rows, L->cols, t);
    }
    printf("%-8s %-9s %4lldx%-4lld  rtn %9.4f  gptq %9.4f (%.3f)  act_order %9.4f (%.3f)\n", lq_type_name(t),
           L->name, (long long)L->rows, (long long)L->cols, rtn, err[0], err[0] / rtn, err[1], err[1] / rtn);
    CHECK_MSG(err[0] < rtn, "%s: gptq %g vs rtn %g", lq_type_name(t), err[0], rtn);
    CHECK_MSG(err[1] < rtn, "%s: gptq act_order %g vs rtn %g", lq_type_name(t), err[1], rtn);
    free(q);
}

/* the same bytes at 1 and 2 threads */
static void check_threads(const layer *L, uint32_t t, bool act_order) {
    const size_t bytes = lq_row_size(t, L->cols) * (size_t)L->rows;
    uint8_t *a = malloc(bytes), *b = malloc(bytes);
    lq_gptq_params p = lq_gptq_default_params();
    p.act_order = act_order;
    CHECK(lq_gptq_quantize(L->W, L->rows, L->cols, L->H, t, &p, a, 1, NULL) == LLMQ_OK);
    CHECK(lq_gptq_quantize(L->W, L->rows, L->cols, L->H, t, &p, b, 2, NULL) == LLMQ_OK);
    CHECK_MSG(test_first_diff(a, b, bytes) == -1, "%s act_order %d: bytes differ at %ld", lq_type_name(t),
              act_order, test_first_diff(a, b, bytes));
    free(a);
    free(b);
}

/* an input channel that never fires: H row and column 0 */
static void check_dead_column(const layer *L, uint32_t t) {
    const int64_t dead = 7, n = L->cols;
    float *X = malloc(sizeof(float) * N_TOKENS * (size_t)n), *H = malloc(sizeof(float) * (size_t)(n * n));
    memcpy(X, L->X, sizeof(float) * N_TOKENS * (size_t)n);
    memcpy(H, L->H, sizeof(float) * (size_t)(n * n));
    for (int i = 0; i < N_TOKENS; i++) X[i * n + dead] = 0.0f;
    for (int64_t i = 0; i < n; i++) H[i * n + dead] = H[dead * n + i] = 0.0f;
    const size_t bytes = lq_row_size(t, n) * (size_t)L->rows;
    uint8_t *q = malloc(bytes), *r = malloc(bytes);
    lq_err e = {0};
    for (int act = 0; act < 2; act++) {
        lq_gptq_params p = lq_gptq_default_params();
        p.act_order = act;
        CHECK_MSG(lq_gptq_quantize(L->W, L->rows, n, H, t, &p, q, 2, &e) == LLMQ_OK, "%s", e.msg);
        CHECK(lq_rtn_quantize(L->W, L->rows, n, t, r, 2, &e) == LLMQ_OK);
        const double eg = output_error(X, L->W, q, L->rows, n, t), er = output_error(X, L->W, r, L->rows, n, t);
        printf("dead column %lld, %s act_order %d: gptq/rtn %.3f\n", (long long)dead, lq_type_name(t), act, eg / er);
        CHECK_MSG(isfinite(eg) && eg < er, "dead column: gptq %g vs rtn %g", eg, er);
    }
    free(X);
    free(H);
    free(q);
    free(r);
}

/* every grid type on a small synthetic layer (32 x 512): GPTQ and
 * act_order below rtn; H = I (no correlations, no dampening) sends no error
 * anywhere, so each element lands on its nearest grid value under the
 * reference quantizer's scales: never farther from w than rtn's value. */
static void all_types(void) {
    layer L = {"synthetic", 32, 512, malloc(sizeof(float) * 32 * 512), make_activations(512), NULL};
    for (int64_t i = 0; i < L.rows * L.cols; i++) L.W[i] = 0.02f * gauss();
    L.H = make_hessian(L.X, L.cols);
    float *I = calloc((size_t)(L.cols * L.cols), sizeof(float)), *dq = malloc(sizeof(float) * 512),
          *dr = malloc(sizeof(float) * 512);
    for (int64_t i = 0; i < L.cols; i++) I[i * L.cols + i] = 1.0f;
    uint8_t *q = malloc(sizeof(float) * 32 * 512), *r = malloc(sizeof(float) * 32 * 512); /* > any type's rows */
    for (uint32_t t = 0; t < LQ_TYPE_LLMQ_END; t++) {
        if (!lq_grid_supported(t)) continue;
        const size_t rb = lq_row_size(t, L.cols);
        lq_gptq_params p = lq_gptq_default_params();
        lq_err e = {0};
        CHECK(lq_rtn_quantize(L.W, L.rows, L.cols, t, r, 1, &e) == LLMQ_OK);
        const double rtn = output_error(L.X, L.W, r, L.rows, L.cols, t);
        double err[2];
        for (int act = 0; act < 2; act++) {
            p.act_order = act;
            CHECK(lq_gptq_quantize(L.W, L.rows, L.cols, L.H, t, &p, q, 1, &e) == LLMQ_OK);
            err[act] = output_error(L.X, L.W, q, L.rows, L.cols, t);
        }
        printf("%-12s gptq/rtn %.3f  act_order %.3f\n", lq_type_name(t), err[0] / rtn, err[1] / rtn);
        CHECK_MSG(err[0] < rtn && err[1] < rtn, "%s: %g %g vs rtn %g", lq_type_name(t), err[0], err[1], rtn);
        p = (lq_gptq_params){.damp = 0.0f, .block = 128, .act_order = false};
        CHECK(lq_gptq_quantize(L.W, L.rows, L.cols, I, t, &p, q, 1, &e) == LLMQ_OK);
        /* with H = I every block's scales come from the importance-weighted
         * quantizer with unit weights (GPTQ's choice), so compare with that */
        if (lq_imatrix_supported(t)) {
            float *ones = malloc((size_t)L.cols * sizeof(float));
            for (int64_t j = 0; j < L.cols; j++) ones[j] = 1.0f;
            /* GPTQ chooses block by block (per-row types: the whole row) */
            const bool per_row = lq_type_get(t)->row_header != 0;
            const int64_t bk = per_row ? L.cols : lq_type_get(t)->blck_size;
            const size_t bb = per_row ? rb : lq_row_size(t, bk);
            for (int64_t i = 0; i < L.rows; i++)
                for (int64_t b = 0; b < L.cols / bk; b++)
                    lq_quantize_rows_imatrix(t, L.W + i * L.cols + b * bk, r + i * rb + (size_t)b * bb, 1, bk, ones);
            free(ones);
        }
        int farther = 0;
        for (int64_t i = 0; i < L.rows; i++) {
            const float *w = L.W + i * L.cols;
            lq_type_get(t)->to_float(q + i * rb, dq, L.cols);
            lq_type_get(t)->to_float(r + i * rb, dr, L.cols);
            for (int64_t j = 0; j < L.cols; j++) farther += fabsf(w[j] - dq[j]) > fabsf(w[j] - dr[j]);
        }
        CHECK_MSG(farther == 0, "%s, H = I: %d values farther than rtn's", lq_type_name(t), farther);
    }
    free(I);
    free(dq);
    free(dr);
    free(q);
    free(r);
    free_layer(&L);
}

/* the lazy batch is only a reordering of the same updates */
static void check_batches(const layer *L, uint32_t t) {
    const size_t bytes = lq_row_size(t, L->cols) * (size_t)L->rows;
    uint8_t *q = malloc(bytes);
    lq_gptq_params p = lq_gptq_default_params();
    double err[2];
    for (int i = 0; i < 2; i++) {
        p.block = i == 0 ? 32 : (int)L->cols;
        CHECK(lq_gptq_quantize(L->W, L->rows, L->cols, L->H, t, &p, q, 2, NULL) == LLMQ_OK);
        err[i] = output_error(L->X, L->W, q, L->rows, L->cols, t);
    }
    CHECK_MSG(fabs(err[0] / err[1] - 1.0) < 0.01, "%s: block 32 %g vs one batch %g", lq_type_name(t), err[0], err[1]);
    free(q);
}

static void check_errors(const layer *L) {
    uint8_t q[64];
    lq_err e = {0};
    CHECK_EQ_INT(lq_gptq_quantize(L->W, 1, 32, L->H, LQ_TYPE_F16, NULL, q, 1, &e), LLMQ_ERR_UNSUPPORTED);
    CHECK_EQ_INT(lq_gptq_quantize(L->W, 1, 48, L->H, LQ_TYPE_Q4_0, NULL, q, 1, &e), LLMQ_ERR_SHAPE);
    lq_gptq_params p = lq_gptq_default_params();
    p.block = 0;
    CHECK_EQ_INT(lq_gptq_quantize(L->W, 1, 32, L->H, LQ_TYPE_Q4_0, &p, q, 1, &e), LLMQ_ERR_ARG);
}

int main(void) {
    layer q = make_layer("attn_q", 576, 576), down = make_layer("ffn_down", 576, 1536);
    compare_rtn(&q, LQ_TYPE_Q4_0);
    compare_rtn(&q, LQ_TYPE_I4_G64A);
    compare_rtn(&q, LQ_TYPE_I3_G64S);
    compare_rtn(&down, LQ_TYPE_Q4_K);
    compare_rtn(&down, LQ_TYPE_Q3_K);
    check_threads(&down, LQ_TYPE_Q4_K, false);
    check_threads(&q, LQ_TYPE_I3_G64S, true);
    check_dead_column(&q, LQ_TYPE_Q4_0);
    check_batches(&q, LQ_TYPE_I4_G64A);
    all_types();
    check_errors(&q);
    free_layer(&q);
    free_layer(&down);
    TEST_END();
}
