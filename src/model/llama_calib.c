/* Layer-by-layer calibration state: hidden states of a batch of sequences
 * at one block boundary, and the statistics of the block's linear inputs. */
#include "model/llama_calib.h"
#include "model/llama_layers.h"

#include "kernels/matmul.h"
#include "quant/types.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows per chunk the block runs over at once: enough for the matrix products
 * to amortize dequantizing the weights, small enough for the temporaries
 * (~10 MB at SmolLM2's sizes). Fixed, so results never depend on threads. */
enum { CHUNK_ROWS = 2048, DEFAULT_SAMPLE = 512, COL_BLOCK = 64, H_TILE = 384 };

struct lq_calib {
    lq_llama *m;
    int n_seq, ctx, n_threads, seqs_per_chunk, next_layer, max_sample;
    float *X; /* (n_seq*ctx, C) */
    lq_llama_acts a;
    void *between; /* lq_calib_block_sequential's buffer, kept from block to block */
};

/* What the hook needs to gather one pass's statistics. */
typedef struct gather {
    lq_calib_stats *out; /* one per point */
    unsigned want;
    int row0;            /* batch row of the chunk's first row */
    int sample_every;    /* keep batch rows 0, k, 2k, ... */
    int max_sample;
    int n_threads;
    int only;            /* the one point gathered, or -1 for all */
} gather;

int lq_calib_next_layer(const lq_calib *c) { return c->next_layer; }
const float *lq_calib_x(const lq_calib *c) { return c->X; }
int lq_calib_rows(const lq_calib *c) { return c->n_seq * c->ctx; }
void lq_calib_set_max_sample(lq_calib *c, int max_rows) { c->max_sample = LQ_MAX(max_rows, 0); }

void lq_calib_free(lq_calib *c) {
    if (!c) return;
    lq_llama_acts_free(&c->a);
    lq_free_aligned(c->X);
    free(c->between);
    free(c);
}

llmq_status lq_calib_open(lq_llama *m, const int32_t *tokens, int n_seq, int ctx, int n_threads, lq_calib **out,
                          lq_err *e) {
    *out = NULL;
    const lq_llama_hparams *hp = &m->hp;
    LQ_CHECK(n_seq >= 1 && ctx >= 1, e, LLMQ_ERR_ARG, "calibration needs at least one sequence of one token");
    size_t rows = (size_t)n_seq * (size_t)ctx, bytes;
    LQ_CHECK(rows <= INT32_MAX && lq_mul_ok(rows, (size_t)hp->n_embd * sizeof(float), &bytes), e, LLMQ_ERR_OVERFLOW,
             "%d sequences of %d tokens are too many", n_seq, ctx);
    for (size_t i = 0; i < rows; i++)
        LQ_CHECK(tokens[i] >= 0 && tokens[i] < hp->n_vocab, e, LLMQ_ERR_ARG, "token id %d outside the vocabulary",
                 tokens[i]);
    lq_calib *c = calloc(1, sizeof *c);
    LQ_CHECK(c, e, LLMQ_ERR_NOMEM, "out of memory");
    c->m = m;
    c->n_seq = n_seq;
    c->ctx = ctx;
    c->n_threads = n_threads > 0 ? n_threads : lq_n_cpus();
    c->seqs_per_chunk = LQ_MIN(n_seq, LQ_MAX(1, CHUNK_ROWS / ctx));
    c->max_sample = DEFAULT_SAMPLE;
    c->X = lq_alloc_aligned(bytes);
    if (!c->X) {
        lq_calib_free(c);
        return lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for %zu hidden states", rows);
    }
    llmq_status st = lq_llama_acts_alloc(&c->a, hp, c->seqs_per_chunk * ctx, ctx, ctx, c->n_threads, e);
    if (st != LLMQ_OK) {
        lq_calib_free(c);
        return st;
    }
    for (size_t t = 0; t < rows; t++) lq_qweight_row(&m->tok_embd, tokens[t], c->X + t * hp->n_embd);
    *out = c;
    return LLMQ_OK;
}

void lq_calib_stats_free(lq_calib_stats *s) {
    free(s->sum_x2);
    lq_free_aligned(s->H);
    free(s->sample);
    memset(s, 0, sizeof *s);
}

static llmq_status stats_alloc(lq_calib_stats *s, int cols, unsigned want, int max_sample, lq_err *e) {
    memset(s, 0, sizeof *s);
    s->cols = cols;
    s->sum_x2 = calloc((size_t)cols, sizeof(double));
    bool ok = s->sum_x2 != NULL;
    if (ok && (want & LQ_CALIB_HESSIAN)) {
        size_t n = (size_t)cols * cols * sizeof(float);
        if ((s->H = lq_alloc_aligned(n))) memset(s->H, 0, n);
        ok = s->H != NULL;
    }
    if (ok && (want & LQ_CALIB_SAMPLE)) ok = (s->sample = lq_malloc_array((size_t)LQ_MAX(max_sample, 1) * cols, sizeof(float))) != NULL;
    if (!ok) {
        lq_calib_stats_free(s);
        return lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for calibration statistics (%d columns)", cols);
    }
    return LLMQ_OK;
}

/* Adds rows of x to s. Each column's sums run over the rows in order inside
 * one thread, and the Hessian's block rows are fixed, so the result does not
 * depend on the thread count. */
static void gather_rows(const gather *g, lq_calib_stats *s, const float *x, int rows, int cols) {
    int n_blocks = (cols + COL_BLOCK - 1) / COL_BLOCK;
    #pragma omp parallel for num_threads(g->n_threads) schedule(static)
    for (int b = 0; b < n_blocks; b++) {
        int j0 = b * COL_BLOCK, nj = LQ_MIN(COL_BLOCK, cols - j0);
        double x2[COL_BLOCK] = {0};
        for (int r = 0; r < rows; r++) {
            const float *xr = x + (size_t)r * cols + j0;
            #pragma omp simd
            for (int j = 0; j < nj; j++) x2[j] += (double)xr[j] * xr[j];
        }
        for (int j = 0; j < nj; j++) s->sum_x2[j0 + j] += x2[j];
    }
    if (s->H) {
        /* upper tiles of H += x^T x: ssyrk on the diagonal, sgemm above it;
         * each tile whole in one thread with single-threaded BLAS */
        int nb = (cols + H_TILE - 1) / H_TILE, n_tiles = nb * (nb + 1) / 2;
        /* even tiles of at most H_TILE: 576 columns make two tiles of 288,
         * whose three products split evenly between two threads */
        int tile = ((cols + nb - 1) / nb + 15) / 16 * 16;
        lq_blas_threads(1);
        #pragma omp parallel for num_threads(g->n_threads) schedule(dynamic)
        for (int t = 0; t < n_tiles; t++) {
            int bi = 0, rest = t;
            while (rest >= nb - bi) rest -= nb - bi++;
            int bj = bi + rest, i0 = bi * tile, j0 = bj * tile;
            int ni = LQ_MIN(tile, cols - i0), nj = LQ_MIN(tile, cols - j0);
            float *Ht = s->H + (size_t)i0 * cols + j0;
            if (bi == bj) cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, ni, rows, 1.0f, x + i0, cols, 1.0f, Ht, cols);
            else
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ni, nj, rows, 1.0f, x + i0, cols, x + j0, cols, 1.0f,
                            Ht, cols);
        }
    }
    if (s->sample) {
        int k = g->sample_every;
        for (int r = (k - g->row0 % k) % k; r < rows && s->n_sample < g->max_sample; r += k)
            memcpy(s->sample + (size_t)s->n_sample++ * cols, x + (size_t)r * cols, (size_t)cols * sizeof(float));
    }
    s->n += rows;
}

static void hook(void *user, int point, const float *x, int rows, int cols) {
    const gather *g = user;
    if (g->only < 0 || g->only == point) gather_rows(g, &g->out[point], x, rows, cols);
}

/* The Hessian was built as its upper triangle; mirror it. */
static void finish_stats(lq_calib_stats *s) {
    if (!s->H) return;
    int n = s->cols;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) s->H[(size_t)i * n + j] = s->H[(size_t)j * n + i];
}

static gather make_gather(const lq_calib *c, lq_calib_stats *out, unsigned want) {
    int rows = lq_calib_rows(c), n_keep = LQ_MIN(c->max_sample, rows);
    gather g = {out, want, 0, n_keep > 0 ? (rows + n_keep - 1) / n_keep : 1, n_keep, c->n_threads, -1};
    return g;
}

/* Runs block `layer` over every chunk of X; writes the result back when
 * advance is set. g may be NULL (no statistics). */
static void run_block(lq_calib *c, int layer, gather *g, bool advance) {
    int C = c->m->hp.n_embd;
    for (int s0 = 0; s0 < c->n_seq; s0 += c->seqs_per_chunk) {
        int ns = LQ_MIN(c->seqs_per_chunk, c->n_seq - s0), rows = ns * c->ctx;
        float *xc = c->X + (size_t)s0 * c->ctx * C;
        memcpy(c->a.x, xc, (size_t)rows * C * sizeof(float));
        if (g) g->row0 = s0 * c->ctx;
        lq_llama_run r = {.n_seq = ns, .T = c->ctx, .pos = 0, .use_cache = false, .stats_only = g && !advance,
                          .n_threads = c->n_threads, .hook = g ? hook : NULL, .user = g};
        lq_llama_block(c->m, layer, &c->a, &r);
        if (advance) memcpy(xc, c->a.x, (size_t)rows * C * sizeof(float));
    }
}

static llmq_status stats_alloc_points(const lq_calib *c, lq_calib_stats out[LQ_POINT_COUNT], unsigned want,
                                      int max_sample, lq_err *e) {
    const lq_llama_hparams *hp = &c->m->hp;
    for (int p = 0; p < LQ_POINT_COUNT; p++) {
        llmq_status st = stats_alloc(&out[p], p == LQ_POINT_FFN_MID ? hp->n_ff : hp->n_embd, want, max_sample, e);
        if (st != LLMQ_OK) {
            for (int q = 0; q < p; q++) lq_calib_stats_free(&out[q]);
            return st;
        }
    }
    return LLMQ_OK;
}

static llmq_status check_layer(const lq_calib *c, int layer, lq_err *e) {
    LQ_CHECK(layer == c->next_layer && layer < c->m->hp.n_layer, e, LLMQ_ERR_ARG,
             "calibration is at block %d of %d, not block %d", c->next_layer, c->m->hp.n_layer, layer);
    return LLMQ_OK;
}

llmq_status lq_calib_block_stats(lq_calib *c, int layer, unsigned want, lq_calib_stats out[LQ_POINT_COUNT],
                                 lq_err *e) {
    memset(out, 0, LQ_POINT_COUNT * sizeof *out);
    LQ_TRY(check_layer(c, layer, e));
    gather g = make_gather(c, out, want);
    LQ_TRY(stats_alloc_points(c, out, want, g.max_sample, e));
    bool advance = (want & LQ_CALIB_ADVANCE) != 0;
    run_block(c, layer, &g, advance);
    for (int p = 0; p < LQ_POINT_COUNT; p++) finish_stats(&out[p]);
    if (advance) c->next_layer++;
    return LLMQ_OK;
}

llmq_status lq_calib_block_advance(lq_calib *c, int layer, lq_err *e) {
    LQ_TRY(check_layer(c, layer, e));
    run_block(c, layer, NULL, true);
    c->next_layer++;
    return LLMQ_OK;
}

llmq_status lq_calib_final_stats(lq_calib *c, unsigned want, lq_calib_stats *out, lq_err *e) {
    memset(out, 0, sizeof *out);
    const lq_llama_hparams *hp = &c->m->hp;
    LQ_CHECK(c->next_layer == hp->n_layer, e, LLMQ_ERR_ARG,
             "the output head's inputs need every block advanced (at block %d of %d)", c->next_layer, hp->n_layer);
    gather g = make_gather(c, out, want);
    LQ_TRY(stats_alloc(out, hp->n_embd, want, g.max_sample, e));
    int C = hp->n_embd, chunk = c->seqs_per_chunk * c->ctx, rows = lq_calib_rows(c);
    for (int r0 = 0; r0 < rows; r0 += chunk) {
        int n = LQ_MIN(chunk, rows - r0);
        lq_rmsnorm_forward(c->a.xb, c->X + (size_t)r0 * C, c->m->output_norm, n, C, hp->norm_eps, c->n_threads);
        g.row0 = r0;
        gather_rows(&g, out, c->a.xb, n, C);
    }
    finish_stats(out);
    return LLMQ_OK;
}

/* ------------------------------------------------- one point at a time */

/* What the block's passes keep between them, in c->between: the attention
 * output (input of attn_output) in F32, then the FFN's middle (input of
 * ffn_down, 2.7x wider) in Q8_0 blocks, 8-bit as the quantized kernels see
 * activations, so that the peak stays below the float model's size (F32
 * where rows of F values do not split into blocks of 32). */
typedef struct mid_format {
    uint32_t type;
    size_t row; /* bytes per row */
} mid_format;

static mid_format mid_format_of(const lq_llama_hparams *hp) {
    mid_format f = {LQ_TYPE_Q8_0, lq_row_size(LQ_TYPE_Q8_0, hp->n_ff)};
    if (!f.row) f = (mid_format){LQ_TYPE_F32, (size_t)hp->n_ff * sizeof(float)};
    return f;
}

/* One pass of block `layer` over every chunk of X, up to the input of point
 * `upto` (LQ_POINT_COUNT: through the whole block, X advanced); each pass
 * picks up where the last one left its result. */
static void seq_pass(lq_calib *c, int layer, gather *g, int upto, mid_format mf) {
    const lq_llama_hparams *hp = &c->m->hp;
    int C = hp->n_embd, F = hp->n_ff;
    const lq_type_traits *mt = lq_type_get(mf.type);
    float *att = c->between;
    uint8_t *mid = c->between;
    lq_quant_q8_0_fn pack = lq_kernels_get()->quant_q8_0;
    /* the block works on X's rows and the kept attention output in place:
     * the passes that change x move X on, as they should */
    float *own_x = c->a.x, *own_att = c->a.att;
    for (int s0 = 0; s0 < c->n_seq; s0 += c->seqs_per_chunk) {
        int ns = LQ_MIN(c->seqs_per_chunk, c->n_seq - s0), rows = ns * c->ctx, row0 = s0 * c->ctx;
        c->a.x = c->X + (size_t)row0 * C;
        c->a.att = att + (size_t)row0 * C;
        if (g) g->row0 = row0;
        lq_llama_run r = {.n_seq = ns, .T = c->ctx, .pos = 0, .use_cache = false, .n_threads = c->n_threads,
                          .hook = g ? hook : NULL, .user = g};
        switch (upto) {
        case LQ_POINT_ATTN_IN:
            lq_llama_block_stages(c->m, layer, &c->a, &r, LQ_STAGE_ATTN_NORM, LQ_STAGE_ATTN_NORM);
            break;
        case LQ_POINT_ATTN_OUT:
            lq_llama_block_stages(c->m, layer, &c->a, &r, LQ_STAGE_ATTN_NORM, LQ_STAGE_ATTN);
            break;
        case LQ_POINT_FFN_IN: /* X moves on to the residual stream after attention */
            lq_llama_block_stages(c->m, layer, &c->a, &r, LQ_STAGE_ATTN_OUT, LQ_STAGE_ATTN_OUT);
            break;
        case LQ_POINT_FFN_MID:
            lq_rmsnorm_forward(c->a.xb, c->a.x, c->m->layers[layer].ffn_norm, rows, C, hp->norm_eps, c->n_threads);
            lq_llama_block_stages(c->m, layer, &c->a, &r, LQ_STAGE_FFN_UP, LQ_STAGE_FFN_UP);
            if (mf.type == LQ_TYPE_F32) {
                memcpy(mid + (size_t)row0 * mf.row, c->a.g, (size_t)rows * mf.row);
                break;
            }
            #pragma omp parallel for num_threads(c->n_threads) schedule(static)
            for (int t = 0; t < rows; t++)
                pack(c->a.g + (size_t)t * F, mid + (size_t)(row0 + t) * mf.row, F);
            break;
        default: /* the FFN's down projection: X leaves the block */
            #pragma omp parallel for num_threads(c->n_threads) schedule(static)
            for (int t = 0; t < rows; t++)
                mt->to_float(mid + (size_t)(row0 + t) * mf.row, c->a.g + (size_t)t * F, F);
            lq_llama_block_stages(c->m, layer, &c->a, &r, LQ_STAGE_FFN_DOWN, LQ_STAGE_FFN_DOWN);
            break;
        }
    }
    c->a.x = own_x, c->a.att = own_att;
}

llmq_status lq_calib_block_sequential(lq_calib *c, int layer, unsigned want, lq_calib_stats out[LQ_POINT_COUNT],
                                      lq_calib_point_fn at_point, void *user, lq_err *e) {
    memset(out, 0, LQ_POINT_COUNT * sizeof *out);
    LQ_TRY(check_layer(c, layer, e));
    LQ_CHECK(!(want & LQ_CALIB_ADVANCE), e, LLMQ_ERR_ARG, "the block advances through its quantized layers here");
    const lq_llama_hparams *hp = &c->m->hp;
    size_t rows = (size_t)lq_calib_rows(c);
    mid_format mf = mid_format_of(hp);
    /* the attention output and the FFN's middle are never kept at once: one
     * buffer holds either, allocated once (fresh pages cost a fault each) */
    if (!c->between && !(c->between = lq_malloc_array(rows, LQ_MAX((size_t)hp->n_embd * sizeof(float), mf.row))))
        return lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for %zu rows of activations", rows);
    gather g = make_gather(c, out, want);
    LQ_TRY(stats_alloc_points(c, out, want, g.max_sample, e));
    llmq_status st = LLMQ_OK;
    for (int p = 0; p < LQ_POINT_COUNT && st == LLMQ_OK; p++) {
        g.only = p;
        seq_pass(c, layer, &g, p, mf);
        finish_stats(&out[p]);
        st = at_point(user, p, &out[p], e);
    }
    if (st == LLMQ_OK) {
        seq_pass(c, layer, NULL, LQ_POINT_COUNT, mf);
        c->next_layer++;
    }
    if (st != LLMQ_OK)
        for (int p = 0; p < LQ_POINT_COUNT; p++) lq_calib_stats_free(&out[p]);
    return st;
}
