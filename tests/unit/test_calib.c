/* Layer-by-layer calibration on stories260K: X carried through every block
 * and the output head gives llmq_decode's logits; the statistics equal a
 * direct recomputation (one sequence at a time through lq_llama_block); the
 * results are bit-identical with 1 and 2 threads; the in-order (sequential)
 * pass gathers the same statistics and sees what is quantized before it. */
#include "model/llama_calib.h"
#include "model/llama_layers.h"
#include "model/model_internal.h"
#include "test.h"

enum { NSEQ = 8, CTX = 300 }; /* 2048-row chunks: 6 sequences, then 2 */

/* Direct recomputation: every row of every point, summed in double. */
typedef struct direct {
    int cols[LQ_POINT_COUNT];
    double *x2[LQ_POINT_COUNT], *H[LQ_POINT_COUNT];
    float *rows[LQ_POINT_COUNT]; /* every row seen, (NSEQ*CTX, cols) */
    int64_t n[LQ_POINT_COUNT];
} direct;

static void direct_hook(void *user, int p, const float *x, int rows, int cols) {
    direct *d = user;
    d->cols[p] = cols;
    memcpy(d->rows[p] + (size_t)d->n[p] * cols, x, (size_t)rows * cols * sizeof(float));
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols;
        for (int i = 0; i < cols; i++) {
            d->x2[p][i] += (double)xr[i] * xr[i];
            for (int j = 0; j < cols; j++) d->H[p][(size_t)i * cols + j] += (double)xr[i] * xr[j];
        }
    }
    d->n[p] += rows;
}

static double rel_diff(const double *a, const double *b, int n) {
    double worst = 0;
    for (int i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - b[i]) / fmax(fabs(b[i]), 1e-30));
    return worst;
}

/* Runs block l on each sequence of X separately and compares with st. */
static void check_direct(lq_llama *L, int l, const float *X, const lq_calib_stats *st, int max_sample, int n_seq,
                         int ctx) {
    const lq_llama_hparams *hp = lq_llama_hparams_of(L);
    int C = hp->n_embd, F = hp->n_ff;
    direct d;
    memset(&d, 0, sizeof d);
    for (int p = 0; p < LQ_POINT_COUNT; p++) {
        int cols = p == LQ_POINT_FFN_MID ? F : C;
        d.x2[p] = calloc(cols, sizeof(double));
        d.H[p] = calloc((size_t)cols * cols, sizeof(double));
        d.rows[p] = malloc((size_t)n_seq * ctx * cols * sizeof(float));
    }
    lq_llama_acts a;
    CHECK(lq_llama_acts_alloc(&a, hp, ctx, ctx, ctx, 1, NULL) == LLMQ_OK);
    for (int s = 0; s < n_seq; s++) {
        memcpy(a.x, X + (size_t)s * ctx * C, (size_t)ctx * C * sizeof(float));
        lq_llama_run r = {.n_seq = 1, .T = ctx, .n_threads = 1, .hook = direct_hook, .user = &d};
        lq_llama_block(L, l, &a, &r);
    }
    lq_llama_acts_free(&a);
    int stride = (n_seq * ctx + max_sample - 1) / max_sample;
    for (int p = 0; p < LQ_POINT_COUNT; p++) {
        int cols = d.cols[p];
        CHECK_EQ_INT(st[p].cols, cols);
        CHECK_EQ_INT(st[p].n, n_seq * ctx);
        double e2 = rel_diff(st[p].sum_x2, d.x2[p], cols);
        CHECK_MSG(e2 < 1e-5, "layer %d point %d: sum x^2 off by %g", l, p, e2);
        double hmax = 0, herr = 0;
        for (size_t i = 0; i < (size_t)cols * cols; i++) {
            hmax = fmax(hmax, fabs(d.H[p][i]));
            herr = fmax(herr, fabs(st[p].H[i] - d.H[p][i]));
        }
        CHECK_MSG(herr <= 1e-5 * hmax, "layer %d point %d: H off by %g (max %g)", l, p, herr, hmax);
        CHECK_EQ_INT(st[p].n_sample, max_sample);
        double serr = 0;
        for (int i = 0; i < st[p].n_sample; i++)
            for (int j = 0; j < cols; j++)
                serr = fmax(serr, fabs(st[p].sample[(size_t)i * cols + j] - d.rows[p][(size_t)i * stride * cols + j]));
        CHECK_MSG(serr < 1e-4, "layer %d point %d: sample rows off by %g", l, p, serr);
        free(d.x2[p]), free(d.H[p]), free(d.rows[p]);
    }
}

static bool stats_equal(const lq_calib_stats *a, const lq_calib_stats *b) {
    size_t c = (size_t)a->cols;
    return a->cols == b->cols && a->n == b->n && a->n_sample == b->n_sample &&
           !memcmp(a->sum_x2, b->sum_x2, c * sizeof(double)) &&
           (!a->H || !memcmp(a->H, b->H, c * c * sizeof(float))) &&
           (!a->sample || !memcmp(a->sample, b->sample, (size_t)a->n_sample * c * sizeof(float)));
}

/* The sequential pass's callback: checks the points come in order, may put
 * an all-zero attn_output into the layer at its point (as a quantizer puts
 * its result there), may fail at one point. */
typedef struct seq_probe {
    lq_llama *L;
    int layer, next, fail_at;
    bool in_order, zero_wo;
    lq_qweight saved_wo;
    float *zeros;
} seq_probe;

static llmq_status probe_point(void *user, int p, const lq_calib_stats *st, lq_err *e) {
    seq_probe *pr = user;
    pr->in_order &= p == pr->next++ && st->n > 0;
    if (p == pr->fail_at) return lq_fail(e, LLMQ_ERR_ARG, "the probe fails at point %d", p);
    if (p == LQ_POINT_ATTN_OUT && pr->zero_wo) {
        lq_qweight *wo = &pr->L->layers[pr->layer].wo;
        pr->saved_wo = *wo;
        pr->zeros = lq_alloc_aligned((size_t)wo->rows * wo->cols * sizeof(float));
        memset(pr->zeros, 0, (size_t)wo->rows * wo->cols * sizeof(float));
        lq_qweight_from_f32(wo, pr->zeros, wo->rows, wo->cols);
    }
    return LLMQ_OK;
}

static double max_rel_diff_f(const float *a, const float *b, size_t n) {
    double mx = 0, d = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(b[i])), d = fmax(d, fabs(a[i] - b[i]));
    return mx > 0 ? d / mx : d;
}

/* With nothing quantized between its points, lq_calib_block_sequential
 * gathers what lq_calib_block_stats does, bit for bit, and moves X as
 * lq_calib_block_advance does (within x_tol: the FFN's middle is kept in
 * 8 bits when its width allows). */
static void check_sequential_plain(lq_llama *L, const int32_t *toks, int n_seq, int ctx, int n_layers, double x_tol) {
    const lq_llama_hparams *hp = lq_llama_hparams_of(L);
    lq_calib *cr = NULL, *cs = NULL;
    lq_err e = {0};
    CHECK(lq_calib_open(L, toks, n_seq, ctx, 2, &cr, &e) == LLMQ_OK);
    CHECK(lq_calib_open(L, toks, n_seq, ctx, 2, &cs, &e) == LLMQ_OK);
    if (!cr || !cs) return;
    lq_calib_set_max_sample(cr, 50);
    lq_calib_set_max_sample(cs, 50);
    unsigned want = LQ_CALIB_HESSIAN | LQ_CALIB_SAMPLE;
    lq_calib_stats sr[LQ_POINT_COUNT], ss[LQ_POINT_COUNT];
    CHECK(lq_calib_block_sequential(cs, 0, want | LQ_CALIB_ADVANCE, ss, probe_point, NULL, &e) == LLMQ_ERR_ARG);
    for (int l = 0; l < n_layers; l++) {
        seq_probe pr = {L, l, 0, -1, true, false, {0}, NULL};
        CHECK(lq_calib_block_stats(cr, l, want, sr, &e) == LLMQ_OK);
        CHECK(lq_calib_block_advance(cr, l, &e) == LLMQ_OK);
        CHECK(lq_calib_block_sequential(cs, l, want, ss, probe_point, &pr, &e) == LLMQ_OK);
        CHECK_MSG(pr.in_order && pr.next == LQ_POINT_COUNT, "layer %d: points out of order", l);
        for (int p = 0; p < LQ_POINT_COUNT; p++) {
            CHECK_MSG(stats_equal(&sr[p], &ss[p]), "layer %d point %d: sequential statistics differ", l, p);
            lq_calib_stats_free(&sr[p]);
            lq_calib_stats_free(&ss[p]);
        }
        CHECK_EQ_INT(lq_calib_next_layer(cs), l + 1);
        /* X of the sequential side now carries the rounding of earlier blocks */
        double d = max_rel_diff_f(lq_calib_x(cs), lq_calib_x(cr), (size_t)lq_calib_rows(cs) * hp->n_embd);
        CHECK_MSG(d <= x_tol, "layer %d: X off by %g (relative), allowed %g", l, d, x_tol);
        if (x_tol > 0) break; /* later blocks' inputs differ, so would their statistics */
    }
    lq_calib_free(cr);
    lq_calib_free(cs);
}

/* A layer put into the model at a point is what the later points see; a
 * failing callback stops the block where it is. */
static void check_sequential_order(lq_llama *L, const int32_t *toks, int n_seq, int ctx) {
    const lq_llama_hparams *hp = lq_llama_hparams_of(L);
    int C = hp->n_embd, rows = n_seq * ctx;
    lq_calib *c = NULL;
    lq_err e = {0};
    CHECK(lq_calib_open(L, toks, n_seq, ctx, 2, &c, &e) == LLMQ_OK);
    if (!c) return;
    float *x0 = malloc((size_t)rows * C * sizeof(float)), *xn = malloc((size_t)rows * C * sizeof(float));
    memcpy(x0, lq_calib_x(c), (size_t)rows * C * sizeof(float));
    seq_probe pr = {L, 0, 0, -1, true, true, {0}, NULL};
    lq_calib_stats st[LQ_POINT_COUNT];
    CHECK(lq_calib_block_sequential(c, 0, 0, st, probe_point, &pr, &e) == LLMQ_OK);
    L->layers[0].wo = pr.saved_wo;
    lq_free_aligned(pr.zeros);
    /* attn_output all zero: the FFN's input is ffn_norm of the block's input */
    lq_rmsnorm_forward(xn, x0, L->layers[0].ffn_norm, rows, C, hp->norm_eps, 1);
    double *x2 = calloc((size_t)C, sizeof(double));
    for (int t = 0; t < rows; t++)
        for (int i = 0; i < C; i++) x2[i] += (double)xn[(size_t)t * C + i] * xn[(size_t)t * C + i];
    CHECK_MSG(rel_diff(st[LQ_POINT_FFN_IN].sum_x2, x2, C) < 1e-5, "the FFN did not see the zeroed attn_output");
    for (int p = 0; p < LQ_POINT_COUNT; p++) lq_calib_stats_free(&st[p]);

    seq_probe fail = {L, 1, 0, LQ_POINT_FFN_IN, true, false, {0}, NULL};
    CHECK(lq_calib_block_sequential(c, 1, LQ_CALIB_HESSIAN, st, probe_point, &fail, &e) == LLMQ_ERR_ARG);
    CHECK(fail.next == LQ_POINT_FFN_IN + 1 && st[LQ_POINT_ATTN_IN].H == NULL);
    CHECK_EQ_INT(lq_calib_next_layer(c), 1);
    free(x0), free(xn), free(x2);
    lq_calib_free(c);
}

/* SmolLM2's widths (576, 1536) span several Hessian tiles; stories260K's
 * fit in one. Runs when the model is there (models/ is not in git). */
static void check_wide_hessian(void) {
    const char *path = TEST_PATH("models/SmolLM2-135M-Instruct-Q4_1.gguf");
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("skipped the wide Hessian check: no %s\n", path);
        return;
    }
    fclose(f);
    llmq_model_params mp = llmq_model_default_params();
    mp.n_threads = 2;
    llmq_model *model = NULL;
    llmq_error err = {0};
    CHECK_MSG(llmq_model_open(path, &mp, &model, &err) == LLMQ_OK, "%s", err.msg);
    if (!model) return;
    enum { N = 2, T = 40 };
    int32_t toks[N * T];
    for (int i = 0; i < N * T; i++) toks[i] = 1 + (i * 7919) % 40000;
    lq_calib *c = NULL;
    lq_calib_stats st[LQ_POINT_COUNT];
    CHECK(lq_calib_open(model->llama, toks, N, T, 2, &c, &err) == LLMQ_OK);
    lq_calib_set_max_sample(c, 16);
    CHECK(lq_calib_block_advance(c, 0, &err) == LLMQ_OK);
    CHECK(lq_calib_block_stats(c, 1, LQ_CALIB_HESSIAN | LQ_CALIB_SAMPLE, st, &err) == LLMQ_OK);
    check_direct(model->llama, 1, lq_calib_x(c), st, 16, N, T);
    /* 1536 = 48 blocks of 32: the FFN's middle is kept in Q8_0 */
    check_sequential_plain(model->llama, toks, N, T, 1, 2e-2);
    for (int p = 0; p < LQ_POINT_COUNT; p++) lq_calib_stats_free(&st[p]);
    lq_calib_free(c);
    llmq_model_free(model);
}

int main(void) {
    check_wide_hessian();
    llmq_model_params mp = llmq_model_default_params();
    mp.tokenizer_path = SHARED_PATH("models/stories260K/tok512.bin");
    mp.n_threads = 1;
    llmq_model *model = NULL;
    llmq_error err = {0};
    CHECK_MSG(llmq_model_open(SHARED_PATH("models/stories260K/stories260K.bin"), &mp, &model, &err) == LLMQ_OK, "%s",
              err.msg);
    if (!model) TEST_END();
    lq_llama *L = model->llama;
    const lq_llama_hparams *hp = lq_llama_hparams_of(L);
    int C = hp->n_embd, V = hp->n_vocab, max_sample = 100;
    int32_t *toks = malloc(sizeof(int32_t) * NSEQ * CTX);
    uint64_t rng = 12345;
    for (int i = 0; i < NSEQ * CTX; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        toks[i] = i % CTX == 0 ? 1 : 3 + (int32_t)((rng >> 33) % (uint64_t)(V - 3));
    }

    /* stories260K's FFN (172 wide) is kept in F32: X must match exactly */
    check_sequential_plain(L, toks, NSEQ, CTX, hp->n_layer, 0.0);
    check_sequential_order(L, toks, NSEQ, CTX);

    lq_calib *c1 = NULL, *c2 = NULL;
    CHECK(lq_calib_open(L, toks, NSEQ, CTX, 1, &c1, &err) == LLMQ_OK);
    CHECK(lq_calib_open(L, toks, NSEQ, CTX, 2, &c2, &err) == LLMQ_OK);
    lq_calib_set_max_sample(c1, max_sample);
    lq_calib_set_max_sample(c2, max_sample);
    lq_calib_stats s1[LQ_POINT_COUNT], s2[LQ_POINT_COUNT];
    CHECK(lq_calib_block_stats(c1, 1, 0, s1, &err) == LLMQ_ERR_ARG);
    CHECK(lq_calib_final_stats(c1, 0, s1, &err) == LLMQ_ERR_ARG);
    unsigned want = LQ_CALIB_HESSIAN | LQ_CALIB_SAMPLE;
    for (int l = 0; l < hp->n_layer; l++) {
        CHECK(lq_calib_block_stats(c1, l, want, s1, &err) == LLMQ_OK);
        check_direct(L, l, lq_calib_x(c1), s1, max_sample, NSEQ, CTX);
        /* even layers: stats and advance in one pass on the 2-thread side */
        bool fused = l % 2 == 0;
        CHECK(lq_calib_block_stats(c2, l, want | (fused ? LQ_CALIB_ADVANCE : 0), s2, &err) == LLMQ_OK);
        for (int p = 0; p < LQ_POINT_COUNT; p++) {
            CHECK_MSG(stats_equal(&s1[p], &s2[p]), "layer %d point %d: 1 and 2 threads differ", l, p);
            lq_calib_stats_free(&s1[p]);
            lq_calib_stats_free(&s2[p]);
        }
        CHECK(lq_calib_block_advance(c1, l, &err) == LLMQ_OK);
        if (!fused) CHECK(lq_calib_block_advance(c2, l, &err) == LLMQ_OK);
        CHECK_EQ_INT(lq_calib_next_layer(c2), l + 1);
        CHECK(!memcmp(lq_calib_x(c1), lq_calib_x(c2), (size_t)NSEQ * CTX * C * sizeof(float)));
    }
    CHECK(lq_calib_block_advance(c1, hp->n_layer, &err) == LLMQ_ERR_ARG);
    lq_calib_stats f1, f2;
    CHECK(lq_calib_final_stats(c1, want, &f1, &err) == LLMQ_OK);
    CHECK(lq_calib_final_stats(c2, want, &f2, &err) == LLMQ_OK);
    CHECK(stats_equal(&f1, &f2));

    /* output norm + head on X against the decoder's own logits */
    float *xn = malloc(sizeof(float) * CTX * C), *lg = malloc(sizeof(float) * CTX * V),
          *ref = malloc(sizeof(float) * CTX * V);
    void *mm = lq_alloc_aligned(lq_qmatmul_scratch_bytes(LQ_MAX(C, hp->n_ff), 1));
    double worst = 0, f_x2[64] = {0};
    for (int s = 0; s < NSEQ; s++) {
        const float *X = lq_calib_x(c1) + (size_t)s * CTX * C;
        lq_rmsnorm_forward(xn, X, L->output_norm, CTX, C, hp->norm_eps, 1);
        for (int t = 0; t < CTX; t++)
            for (int i = 0; i < C && i < 64; i++) f_x2[i] += (double)xn[t * C + i] * xn[t * C + i];
        lq_qmatmul(lg, xn, &L->output, CTX, 1, mm);
        CHECK(llmq_decode(model, toks + s * CTX, CTX, 0, ref, CTX, &err) == LLMQ_OK);
        double mx = 0, d = 0;
        for (size_t i = 0; i < (size_t)CTX * V; i++) {
            mx = fmax(mx, fabs(ref[i]));
            d = fmax(d, fabs(lg[i] - ref[i]));
        }
        worst = fmax(worst, d / mx);
    }
    CHECK_MSG(worst <= 1e-4, "logits differ from llmq_decode by %g (relative)", worst);
    CHECK_MSG(rel_diff(f1.sum_x2, f_x2, LQ_MIN(C, 64)) < 1e-5, "final stats");
    printf("logits vs llmq_decode: max relative difference %.3g\n", worst);

    int32_t bad = V;
    lq_calib *c3 = NULL;
    CHECK(lq_calib_open(L, &bad, 1, 1, 1, &c3, &err) == LLMQ_ERR_ARG && c3 == NULL);
    lq_calib_stats_free(&f1);
    lq_calib_stats_free(&f2);
    lq_free_aligned(mm);
    free(xn), free(lg), free(ref), free(toks);
    lq_calib_free(c1);
    lq_calib_free(c2);
    llmq_model_free(model);
    TEST_END();
}
