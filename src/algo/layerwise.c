/* The block-by-block driver of the calibrated methods. */
#include "algo/layerwise.h"

#include "model/llama_calib.h"
#include "quant/types.h"

#include <cblas.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { M_Q, M_K, M_V, M_O, M_GATE, M_UP, M_DOWN, M_COUNT };
static const char *const mat_names[M_COUNT] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                               "ffn_gate", "ffn_up", "ffn_down"};
static const int mat_point[M_COUNT] = {LQ_POINT_ATTN_IN, LQ_POINT_ATTN_IN, LQ_POINT_ATTN_IN, LQ_POINT_ATTN_OUT,
                                       LQ_POINT_FFN_IN, LQ_POINT_FFN_IN, LQ_POINT_FFN_MID};

/* One block in flight: float copies of its weights, what calibration saw,
 * and the quantized result. */
typedef struct block_work {
    lq_qweight *orig[M_COUNT]; // the model's layer slots
    float *W[M_COUNT];         // (rows, cols), scaled by AWQ where it applies
    int rows[M_COUNT], cols[M_COUNT];
    uint32_t type[M_COUNT];
    void *q[M_COUNT];          // rows of type
    lq_qweight qw[M_COUNT];
    float *norm_a, *norm_f;    // (C) RMSNorm weights, divided by AWQ's scales
    lq_calib_stats st[LQ_POINT_COUNT];
    float *imp[LQ_POINT_COUNT]; // (cols) mean x^2 per input column
} block_work;

static void work_free(block_work *b) {
    for (int i = 0; i < M_COUNT; i++) {
        lq_free_aligned(b->W[i]);
        free(b->q[i]);
        lq_qweight_free(&b->qw[i]);
    }
    for (int p = 0; p < LQ_POINT_COUNT; p++) {
        lq_calib_stats_free(&b->st[p]);
        free(b->imp[p]);
    }
    free(b->norm_a);
    free(b->norm_f);
}

static float *copy_floats(const float *x, size_t n) {
    float *y = malloc(n * sizeof(float));
    if (y) memcpy(y, x, n * sizeof(float));
    return y;
}

/* glibc keeps freed heap pages mapped: the blocks' mix of short-lived buffers
 * made the resident size creep up by ~10 MB a block (642 MiB peak at 128 x 512
 * calibration tokens against ~250 MiB in use). Handing them back after each
 * block keeps the peak near what is in use. */
static void give_back_memory(void) {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

// Float copies of block l's weights; types picked in file order (the mix's counters advance)
static llmq_status work_load(block_work *b, lq_llama_layer *L, int l, int C, save_opts *o) {
    lq_qweight *slots[M_COUNT] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    b->norm_a = copy_floats(L->attn_norm, (size_t)C);
    b->norm_f = copy_floats(L->ffn_norm, (size_t)C);
    LQ_CHECK(b->norm_a && b->norm_f, o->e, LLMQ_ERR_NOMEM, "out of memory");
    for (int i = 0; i < M_COUNT; i++) {
        lq_qweight *s = b->orig[i] = slots[i];
        char name[64];
        snprintf(name, sizeof name, "blk.%d.%s.weight", l, mat_names[i]);
        b->rows[i] = s->rows, b->cols[i] = s->cols;
        b->type[i] = lq_save_pick_type(o, name, s->cols, s->rows);
        b->W[i] = lq_alloc_aligned((size_t)s->rows * s->cols * sizeof(float));
        LQ_CHECK(b->W[i], o->e, LLMQ_ERR_NOMEM, "out of memory for block %d", l);
        for (int r = 0; r < s->rows; r++) lq_qweight_row(s, r, b->W[i] + (size_t)r * s->cols);
    }
    return LLMQ_OK;
}

// The source checksum covers the float weights as the rtn writer sees them, in file order
static void work_checksum(const block_work *b, int C, save_opts *o) {
    lq_save_hash(o, b->norm_a, (size_t)C * sizeof(float));
    for (int i = 0; i < M_COUNT; i++) {
        if (i == M_GATE) lq_save_hash(o, b->norm_f, (size_t)C * sizeof(float));
        lq_save_hash(o, b->W[i], (size_t)b->rows[i] * b->cols[i] * sizeof(float));
    }
}

// W (rows, cols) *= s per column
static void scale_cols(float *W, int rows, int cols, const float *s) {
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) W[(size_t)r * cols + c] *= s[c];
}

// The inputs of point p divided by s: the norm or rows feeding it, the sample, the importance
static void divide_input(block_work *b, int p, const float *s, float *feed, int feed_rows, int feed_cols) {
    lq_calib_stats *st = &b->st[p];
    for (int r = 0; r < feed_rows; r++) // feed row r produces input channel r
        for (int c = 0; c < feed_cols; c++) feed[(size_t)r * feed_cols + c] /= s[r];
    for (int t = 0; t < st->n_sample; t++)
        for (int c = 0; c < st->cols; c++) st->sample[(size_t)t * st->cols + c] /= s[c];
    for (int c = 0; c < st->cols; c++) b->imp[p][c] /= s[c] * s[c];
}

// AWQ on the matrices {first..last} that read point p, with the inverse scale folded into feed
static llmq_status awq_group(block_work *b, int first, int last, int p, float *feed, int feed_rows, int feed_cols,
                             const lq_layerwise_opts *lo, int nt, lq_err *e) {
    lq_awq_linear lin[3];
    int n = 0, cols = b->cols[first];
    for (int i = first; i <= last; i++) lin[n++] = (lq_awq_linear){b->W[i], b->rows[i], b->type[i]};
    float *s = malloc((size_t)cols * sizeof(float));
    LQ_CHECK(s, e, LLMQ_ERR_NOMEM, "out of memory");
    const lq_calib_stats *st = &b->st[p];
    llmq_status rc = lq_awq_search(lin, n, cols, st->sample, st->n_sample, &lo->awq, NULL, s, NULL, nt, e);
    if (rc == LLMQ_OK) {
        for (int i = first; i <= last; i++) scale_cols(b->W[i], b->rows[i], cols, s);
        divide_input(b, p, s, feed, feed_rows, feed_cols);
    }
    free(s);
    return rc;
}

// AWQ's clipping of matrix i against its (scaled) input sample
static llmq_status awq_clip(block_work *b, int i, const lq_layerwise_opts *lo, int nt, lq_err *e) {
    const lq_calib_stats *st = &b->st[mat_point[i]];
    int cols = b->cols[i];
    if (!lq_awq_clip_group(b->type[i], cols)) return LLMQ_OK;
    float *H = lq_alloc_aligned((size_t)cols * cols * sizeof(float));
    LQ_CHECK(H, e, LLMQ_ERR_NOMEM, "out of memory");
    // H (cols, cols) = sample^T sample
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cols, cols, st->n_sample, 1.0f, st->sample, cols, st->sample,
                cols, 0.0f, H, cols);
    llmq_status rc = lq_awq_clip(b->W[i], b->rows[i], cols, b->type[i], H, &lo->awq, nt, e);
    lq_free_aligned(H);
    return rc;
}

static llmq_status apply_awq(block_work *b, const lq_llama_hparams *hp, const lq_layerwise_opts *lo, int nt,
                             lq_err *e) {
    int C = hp->n_embd;
    LQ_TRY(awq_group(b, M_Q, M_V, LQ_POINT_ATTN_IN, b->norm_a, C, 1, lo, nt, e));
    /* attn_output's input comes from v's rows only when every query head has its own */
    if (hp->n_head == hp->n_head_kv)
        LQ_TRY(awq_group(b, M_O, M_O, LQ_POINT_ATTN_OUT, b->W[M_V], b->rows[M_V], b->cols[M_V], lo, nt, e));
    LQ_TRY(awq_group(b, M_GATE, M_UP, LQ_POINT_FFN_IN, b->norm_f, C, 1, lo, nt, e));
    LQ_TRY(awq_group(b, M_DOWN, M_DOWN, LQ_POINT_FFN_MID, b->W[M_UP], b->rows[M_UP], b->cols[M_UP], lo, nt, e));
    for (int i = 0; i < M_COUNT; i++) LQ_TRY(awq_clip(b, i, lo, nt, e));
    return LLMQ_OK;
}

static llmq_status quantize_matrix(block_work *b, int i, int l, const lq_layerwise_opts *lo, save_opts *o) {
    int rows = b->rows[i], cols = b->cols[i];
    size_t rb = lq_row_size(b->type[i], cols);
    b->q[i] = lq_malloc_array((size_t)rows, rb);
    LQ_CHECK(rb && b->q[i], o->e, LLMQ_ERR_NOMEM, "out of memory quantizing block %d", l);
    const lq_calib_stats *st = &b->st[mat_point[i]];
    lq_wstats ws = {b->imp[mat_point[i]], st->H};
    bool fell_back;
    LQ_TRY(lq_wmethod_quantize(lo->method, &lo->mp, b->W[i], rows, cols, b->type[i], &ws, b->q[i], o->n_threads,
                               &fell_back, o->e));
    o->n_fallback += fell_back;
    LQ_CHECK(lq_qweight_init(&b->qw[i], b->type[i], b->q[i], rows, cols, true), o->e, LLMQ_ERR_NOMEM,
             "out of memory");
    return LLMQ_OK;
}

static llmq_status quantize_block(block_work *b, int l, const lq_layerwise_opts *lo, save_opts *o) {
    for (int i = 0; i < M_COUNT; i++) LQ_TRY(quantize_matrix(b, i, l, lo, o));
    return LLMQ_OK;
}

// imp[p] = mean x^2 per input column of point p
static llmq_status make_importance(block_work *b, int p, lq_err *e) {
    const lq_calib_stats *st = &b->st[p];
    LQ_CHECK(b->imp[p] = malloc((size_t)st->cols * sizeof(float)), e, LLMQ_ERR_NOMEM, "out of memory");
    for (int k = 0; k < st->cols; k++) b->imp[p][k] = (float)(st->sum_x2[k] / (double)LQ_MAX(st->n, 1));
    return LLMQ_OK;
}

/* The block's norms (AWQ divides them) and, with `quantized`, all its
 * quantized layers in the model's slots, so that the batch runs through
 * them; `s` keeps the source's for slots_restore. */
typedef struct slots_saved { lq_qweight w[M_COUNT]; float *norms[2]; } slots_saved;

static void slots_enter(block_work *b, lq_llama_layer *ly, bool quantized, slots_saved *s) {
    for (int i = 0; i < M_COUNT; i++) s->w[i] = *b->orig[i];
    s->norms[0] = ly->attn_norm, s->norms[1] = ly->ffn_norm;
    for (int i = 0; i < M_COUNT && quantized; i++) *b->orig[i] = b->qw[i];
    ly->attn_norm = b->norm_a, ly->ffn_norm = b->norm_f;
}

static void slots_restore(block_work *b, lq_llama_layer *ly, const slots_saved *s) {
    for (int i = 0; i < M_COUNT; i++) *b->orig[i] = s->w[i];
    ly->attn_norm = s->norms[0], ly->ffn_norm = s->norms[1];
}

/* Quantizing in order (GPTQ): the layers reading point p, as soon as its
 * statistics are complete, go into the model for the points after it. */
typedef struct in_order {
    block_work *b;
    int l;
    const lq_layerwise_opts *lo;
    save_opts *o;
} in_order;

static llmq_status quantize_at_point(void *user, int p, const lq_calib_stats *st, lq_err *e) {
    in_order *u = user;
    block_work *b = u->b;
    (void)st; /* the same as b->st[p] */
    LQ_TRY(make_importance(b, p, e));
    for (int i = 0; i < M_COUNT; i++) {
        if (mat_point[i] != p) continue;
        LQ_TRY(quantize_matrix(b, i, u->l, u->lo, u->o));
        *b->orig[i] = b->qw[i];
    }
    return LLMQ_OK;
}

static llmq_status write_block(lq_gguf_writer *w, const block_work *b, int l, int C, save_opts *o) {
    char n[64];
    snprintf(n, sizeof n, "blk.%d.attn_norm.weight", l);
    LQ_TRY(lq_save_add(w, n, LQ_TYPE_F32, b->norm_a, C, 1, NULL, o));
    for (int i = 0; i < M_COUNT; i++) {
        if (i == M_GATE) {
            snprintf(n, sizeof n, "blk.%d.ffn_norm.weight", l);
            LQ_TRY(lq_save_add(w, n, LQ_TYPE_F32, b->norm_f, C, 1, NULL, o));
        }
        snprintf(n, sizeof n, "blk.%d.%s.weight", l, mat_names[i]);
        double err = lq_wmethod_rel_error(b->W[i], b->rows[i], b->cols[i], b->type[i], b->q[i],
                                          b->imp[mat_point[i]]);
        LQ_TRY(lq_save_add(w, n, b->type[i], b->q[i], b->cols[i], b->rows[i], &err, o));
    }
    return LLMQ_OK;
}

/* Block l by GPTQ's order: each point's statistics through the layers
 * quantized before it, the batch moved past the quantized block. */
static llmq_status block_in_order(block_work *b, lq_llama *L, lq_calib *c, int l, unsigned want,
                                  const lq_layerwise_opts *lo, save_opts *o) {
    lq_llama_layer *ly = &L->layers[l];
    slots_saved saved;
    slots_enter(b, ly, false, &saved); /* quantize_at_point puts each layer in */
    in_order u = {b, l, lo, o};
    llmq_status st = lq_calib_block_sequential(c, l, want, b->st, quantize_at_point, &u, o->e);
    slots_restore(b, ly, &saved);
    return st;
}

/* Block l's statistics from the float block, all its layers quantized, then
 * the batch moved past the quantized block (or past the float one, with
 * float_inputs, in the statistics' pass). */
static llmq_status block_at_once(block_work *b, lq_llama *L, lq_calib *c, int l, unsigned want,
                                 const lq_layerwise_opts *lo, save_opts *o) {
    const lq_llama_hparams *hp = lq_llama_hparams_of(L);
    LQ_TRY(lq_calib_block_stats(c, l, want | (lo->float_inputs ? LQ_CALIB_ADVANCE : 0), b->st, o->e));
    for (int p = 0; p < LQ_POINT_COUNT; p++) LQ_TRY(make_importance(b, p, o->e));
    if (lo->method == LQ_METHOD_AWQ) LQ_TRY(apply_awq(b, hp, lo, o->n_threads, o->e));
    LQ_TRY(quantize_block(b, l, lo, o));
    if (lo->float_inputs) return LLMQ_OK;
    lq_llama_layer *ly = &L->layers[l];
    slots_saved saved;
    slots_enter(b, ly, true, &saved);
    llmq_status st = lq_calib_block_advance(c, l, o->e);
    slots_restore(b, ly, &saved);
    return st;
}

// Block l: statistics, its matrices quantized and written, the batch moved past it
static llmq_status do_block(lq_gguf_writer *w, lq_llama *L, const lq_mapfile *map, lq_calib *c, int l,
                            const lq_layerwise_opts *lo, save_opts *o) {
    const lq_llama_hparams *hp = lq_llama_hparams_of(L);
    block_work b;
    memset(&b, 0, sizeof b);
    unsigned want = (lo->method == LQ_METHOD_GPTQ ? LQ_CALIB_HESSIAN : 0) | (lo->method == LQ_METHOD_AWQ ? LQ_CALIB_SAMPLE : 0);
    llmq_status st = work_load(&b, &L->layers[l], l, hp->n_embd, o);
    if (st == LLMQ_OK) work_checksum(&b, hp->n_embd, o);
    /* GPTQ quantizes in order, as AutoGPTQ's default true_sequential; AWQ
     * folds scales into layers before its point, so it sees the whole block */
    if (st == LLMQ_OK)
        st = lo->method == LQ_METHOD_GPTQ && !lo->float_inputs ? block_in_order(&b, L, c, l, want, lo, o)
                                                                : block_at_once(&b, L, c, l, want, lo, o);
    if (st == LLMQ_OK) st = write_block(w, &b, l, hp->n_embd, o);
    for (int i = 0; i < M_COUNT; i++) /* the source block is not read again */
        lq_map_release(map, b.orig[i]->data, (size_t)b.orig[i]->rows * b.orig[i]->row_bytes);
    work_free(&b);
    give_back_memory();
    return st;
}

llmq_status lq_layerwise_add_weights(lq_gguf_writer *w, llmq_model *m, const lq_layerwise_opts *lo, save_opts *o) {
    lq_llama *L = m->llama;
    const lq_llama_hparams *hp = lq_llama_hparams_of(L);
    o->total = 2 + !L->tied + 9 * hp->n_layer;
    LQ_TRY(lq_save_qweight(w, "token_embd.weight", &L->tok_embd, o));
    LQ_TRY(lq_save_matrix(w, "output_norm.weight", L->output_norm, hp->n_embd, 1, o));
    if (!L->tied) LQ_TRY(lq_save_qweight(w, "output.weight", &L->output, o));
    give_back_memory();
    lq_calib *c = NULL;
    LQ_TRY(lq_calib_open(L, lo->tokens, lo->n_seq, lo->ctx, o->n_threads, &c, o->e));
    /* a mapped source's pages are dropped once read for the last time, so
     * that the resident size stays near one block (an F32 source is as big
     * as the limit itself): the embedding and output are written and the
     * batch embedded by now */
    lq_map_release(&m->map, L->tok_embd.data, (size_t)L->tok_embd.rows * L->tok_embd.row_bytes);
    if (!L->tied) lq_map_release(&m->map, L->output.data, (size_t)L->output.rows * L->output.row_bytes);
    llmq_status st = LLMQ_OK;
    for (int l = 0; l < hp->n_layer && st == LLMQ_OK; l++) st = do_block(w, L, &m->map, c, l, lo, o);
    lq_calib_free(c);
    return st;
}

llmq_status lq_calib_tokens(const llmq_model *m, const char *text, size_t len, int want, int ctx, int32_t **toks,
                            int *n_seq, int *ctx_out, lq_err *e) {
    ctx = ctx > 0 ? ctx : 512, want = want > 0 ? want : 128 * 512;
    LQ_CHECK(ctx >= 2 && ctx <= m->hp.n_ctx_train, e, LLMQ_ERR_ARG, "calibration context %d outside 2..%d", ctx,
             m->hp.n_ctx_train);
    size_t cap = len + 2, n = 0;
    *toks = lq_malloc_array(cap, sizeof(int32_t));
    LQ_CHECK(*toks, e, LLMQ_ERR_NOMEM, "out of memory for calibration tokens");
    llmq_status st = llmq_tokenize(m, text, len, 0, *toks, cap, &n);
    LQ_CHECK(st == LLMQ_OK, e, st, "cannot tokenize the calibration text");
    *n_seq = (int)LQ_MIN((size_t)(want / ctx), n / (size_t)ctx);
    LQ_CHECK(*n_seq >= 1, e, LLMQ_ERR_ARG, "calibration text too short: %zu tokens, need at least %d", n, ctx);
    int32_t bos = llmq_token_bos(m);
    for (int s = 0; s < *n_seq && bos >= 0; s++) (*toks)[(size_t)s * ctx] = bos;
    *ctx_out = ctx;
    return LLMQ_OK;
}
