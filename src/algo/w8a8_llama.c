/* W8A8 for llama decoders: INT8 per-channel weights; with static-int8 or
 * SmoothQuant, a calibration pass of the float model block by block.
 *   pass A (SmoothQuant only): per-channel max |x| of each linear input,
 *          then s = lq_smooth_scales, folded into the producing weights;
 *   pass B: the block runs with the smoothed weights, observers watch each
 *          linear input (static-int8), and the hidden states move on.
 * Smoothing leaves the float function unchanged, so block i+1 sees the float
 * model's hidden states, as PyTorch's static calibration does. */
#include "algo/w8a8_llama.h"

#include "algo/layerwise.h"
#include "algo/observer.h"
#include "algo/smoothquant.h"
#include "quant/types_llmq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { M_Q, M_K, M_V, M_O, M_GATE, M_UP, M_DOWN, M_COUNT, CHUNK_ROWS = 2048 };
static const char *const mat_names[M_COUNT] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                               "ffn_gate", "ffn_up", "ffn_down"};
static const int mat_point[M_COUNT] = {LQ_POINT_ATTN_IN, LQ_POINT_ATTN_IN, LQ_POINT_ATTN_IN, LQ_POINT_ATTN_OUT,
                                       LQ_POINT_FFN_IN, LQ_POINT_FFN_IN, LQ_POINT_FFN_MID};

/* The calibration batch and what the hook records. */
typedef struct w8_calib {
    lq_llama *L;
    float *X;               // (rows, C) hidden states entering the current block
    int n_seq, ctx, chunk_seqs, nt;
    lq_llama_acts a;
    float *cmax[LQ_POINT_COUNT];       // (cols) per-channel max |x| (pass A)
    lq_observer *obs[LQ_POINT_COUNT];  // pass B
    bool pass_a;
} w8_calib;

static void hook(void *user, int point, const float *x, int rows, int cols) {
    w8_calib *c = user;
    if (c->pass_a) {
        float *m = c->cmax[point];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++) {
                float v = fabsf(x[(size_t)r * cols + j]);
                m[j] = v > m[j] ? v : m[j];
            }
    } else if (c->obs[point]) {
        lq_observer_update(c->obs[point], x, (size_t)rows * cols);
    }
}

// Runs block l over the batch in chunks; advance: X <- block(X)
static void run_block(w8_calib *c, int l, bool advance) {
    int C = lq_llama_hparams_of(c->L)->n_embd;
    for (int s0 = 0; s0 < c->n_seq; s0 += c->chunk_seqs) {
        int ns = LQ_MIN(c->chunk_seqs, c->n_seq - s0);
        size_t off = (size_t)s0 * c->ctx * C, n = (size_t)ns * c->ctx * C;
        memcpy(c->a.x, c->X + off, n * sizeof(float));
        lq_llama_run r = {.n_seq = ns, .T = c->ctx, .n_threads = c->nt, .hook = hook, .user = c};
        lq_llama_block(c->L, l, &c->a, &r);
        if (advance) memcpy(c->X + off, c->a.x, n * sizeof(float));
    }
}

/* One block in flight: float weights (smoothed in place) and the F32 views
 * the model runs while it is calibrated. */
typedef struct w8_block {
    float *W[M_COUNT];
    int rows[M_COUNT], cols[M_COUNT];
    float *norm_a, *norm_f;
    float act_scale[LQ_POINT_COUNT];
} w8_block;

static void block_free(w8_block *b) {
    for (int i = 0; i < M_COUNT; i++) lq_free_aligned(b->W[i]);
    lq_free_aligned(b->norm_a);
    lq_free_aligned(b->norm_f);
}

static lq_qweight **slots(lq_llama_layer *L, lq_qweight **s) {
    lq_qweight *all[M_COUNT] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    memcpy(s, all, sizeof all);
    return s;
}

static float *copy_aligned(const float *x, size_t n) {
    float *y = lq_alloc_aligned(n * sizeof(float));
    if (y) memcpy(y, x, n * sizeof(float));
    return y;
}

static llmq_status block_load(w8_block *b, lq_llama_layer *L, int C, lq_err *e) {
    lq_qweight *s[M_COUNT];
    slots(L, s);
    b->norm_a = copy_aligned(L->attn_norm, (size_t)C);
    b->norm_f = copy_aligned(L->ffn_norm, (size_t)C);
    LQ_CHECK(b->norm_a && b->norm_f, e, LLMQ_ERR_NOMEM, "out of memory");
    for (int i = 0; i < M_COUNT; i++) {
        b->rows[i] = s[i]->rows, b->cols[i] = s[i]->cols;
        b->W[i] = lq_alloc_aligned((size_t)s[i]->rows * s[i]->cols * sizeof(float));
        LQ_CHECK(b->W[i], e, LLMQ_ERR_NOMEM, "out of memory");
        for (int r = 0; r < s[i]->rows; r++) lq_qweight_row(s[i], r, b->W[i] + (size_t)r * s[i]->cols);
    }
    return LLMQ_OK;
}

// SmoothQuant on the matrices [first, last] reading point p; 1/s folded into feed (feed_rows rows)
static void smooth(w8_block *b, const w8_calib *c, float alpha, int first, int last, int p, float *feed,
                   int feed_rows, int feed_cols, float *s) {
    const float *Ws[3] = {0};
    int rows[3] = {0}, n = 0, cols = b->cols[first];
    for (int i = first; i <= last; i++) Ws[n] = b->W[i], rows[n++] = b->rows[i];
    lq_smooth_scales(c->cmax[p], Ws, rows, n, cols, alpha, s);
    for (int i = first; i <= last; i++)
        for (int r = 0; r < b->rows[i]; r++)
            for (int j = 0; j < cols; j++) b->W[i][(size_t)r * cols + j] *= s[j];
    for (int r = 0; r < feed_rows; r++) // feed row r produces input channel r
        for (int j = 0; j < feed_cols; j++) feed[(size_t)r * feed_cols + j] /= s[r];
}

static void apply_smooth(w8_block *b, const w8_calib *c, const lq_llama_hparams *hp, float alpha) {
    int C = hp->n_embd;
    float *s = malloc((size_t)LQ_MAX(C, hp->n_ff) * sizeof(float));
    if (!s) return; /* checked by the caller through b->W */
    smooth(b, c, alpha, M_Q, M_V, LQ_POINT_ATTN_IN, b->norm_a, C, 1, s);
    /* attention output reads v's rows only when every query head has its own */
    if (hp->n_head == hp->n_head_kv) smooth(b, c, alpha, M_O, M_O, LQ_POINT_ATTN_OUT, b->W[M_V], C, C, s);
    smooth(b, c, alpha, M_GATE, M_UP, LQ_POINT_FFN_IN, b->norm_f, C, 1, s);
    smooth(b, c, alpha, M_DOWN, M_DOWN, LQ_POINT_FFN_MID, b->W[M_UP], b->rows[M_UP], b->cols[M_UP], s);
    free(s);
}

// Calibrates block l: smoothing (optional), observers, X advanced
static llmq_status calibrate(w8_calib *c, w8_block *b, int l, const lq_w8a8_opts *q, lq_err *e) {
    lq_llama_layer *ly = &c->L->layers[l];
    const lq_llama_hparams *hp = lq_llama_hparams_of(c->L);
    for (int p = 0; p < LQ_POINT_COUNT; p++) {
        memset(c->cmax[p], 0, (size_t)LQ_MAX(hp->n_embd, hp->n_ff) * sizeof(float));
        c->obs[p] = q->dynamic ? NULL : lq_observer_new(q->observer);
        LQ_CHECK(q->dynamic || c->obs[p], e, LLMQ_ERR_NOMEM, "out of memory");
    }
    lq_qweight saved[M_COUNT], tmp[M_COUNT], *s[M_COUNT];
    float *norms[2] = {ly->attn_norm, ly->ffn_norm};
    slots(ly, s);
    if (q->smooth_alpha > 0) {
        c->pass_a = true;
        run_block(c, l, false);
        apply_smooth(b, c, hp, q->smooth_alpha);
    }
    /* pass B on the smoothed weights (F32 views borrowed into the layer) */
    for (int i = 0; i < M_COUNT; i++) {
        saved[i] = *s[i];
        lq_qweight_from_f32(&tmp[i], b->W[i], b->rows[i], b->cols[i]);
        tmp[i].owned = NULL; /* b owns the floats */
        *s[i] = tmp[i];
    }
    ly->attn_norm = b->norm_a, ly->ffn_norm = b->norm_f;
    c->pass_a = false;
    run_block(c, l, true);
    for (int i = 0; i < M_COUNT; i++) *s[i] = saved[i];
    ly->attn_norm = norms[0], ly->ffn_norm = norms[1];
    for (int p = 0; p < LQ_POINT_COUNT; p++) {
        b->act_scale[p] = c->obs[p] ? lq_observer_threshold(c->obs[p]) / 127.0f : 0;
        lq_observer_free(c->obs[p]);
        c->obs[p] = NULL;
    }
    return LLMQ_OK;
}

static llmq_status write_block(lq_gguf_writer *w, const w8_block *b, int l, int C,
                               bool with_scales, save_opts *o) {
    char n[96];
    snprintf(n, sizeof n, "blk.%d.attn_norm.weight", l);
    LQ_TRY(lq_save_matrix(w, n, b->norm_a, C, 1, o));
    for (int i = 0; i < M_COUNT; i++) {
        if (i == M_GATE) {
            snprintf(n, sizeof n, "blk.%d.ffn_norm.weight", l);
            LQ_TRY(lq_save_matrix(w, n, b->norm_f, C, 1, o));
        }
        snprintf(n, sizeof n, "blk.%d.%s.weight", l, mat_names[i]);
        LQ_TRY(lq_save_matrix(w, n, b->W[i], b->cols[i], b->rows[i], o));
        if (with_scales) {
            snprintf(n, sizeof n, "blk.%d.%s.weight.act_scale", l, mat_names[i]);
            LQ_TRY(lq_save_add(w, n, LQ_TYPE_F32, &b->act_scale[mat_point[i]], 1, 1, NULL, o));
        }
    }
    return LLMQ_OK;
}

// The metadata checksum after this block's source weights, in file order
static uint64_t checksum(const w8_block *b, int C, const save_opts *o) {
    save_opts t = *o;
    lq_save_hash(&t, b->norm_a, (size_t)C * sizeof(float));
    for (int i = 0; i < M_COUNT; i++) {
        if (i == M_GATE) lq_save_hash(&t, b->norm_f, (size_t)C * sizeof(float));
        lq_save_hash(&t, b->W[i], (size_t)b->rows[i] * b->cols[i] * sizeof(float));
    }
    return t.fnv;
}

static llmq_status calib_open(w8_calib *c, llmq_model *m, const lq_w8a8_opts *q, int32_t **toks, int nt, lq_err *e) {
    lq_llama *L = m->llama;
    const lq_llama_hparams *hp = lq_llama_hparams_of(L);
    int C = hp->n_embd;
    c->L = L, c->nt = nt;
    LQ_TRY(lq_calib_tokens(m, q->calib_text, q->calib_len, q->calib_tokens, q->calib_ctx, toks, &c->n_seq, &c->ctx, e));
    c->chunk_seqs = LQ_MAX(1, LQ_MIN(c->n_seq, CHUNK_ROWS / c->ctx));
    c->X = lq_alloc_aligned((size_t)c->n_seq * c->ctx * C * sizeof(float));
    LQ_CHECK(c->X, e, LLMQ_ERR_NOMEM, "out of memory for the calibration batch");
    for (int p = 0; p < LQ_POINT_COUNT; p++) {
        c->cmax[p] = calloc((size_t)LQ_MAX(C, hp->n_ff), sizeof(float));
        LQ_CHECK(c->cmax[p], e, LLMQ_ERR_NOMEM, "out of memory");
    }
    for (size_t t = 0; t < (size_t)c->n_seq * c->ctx; t++) lq_qweight_row(&L->tok_embd, (*toks)[t], c->X + t * C);
    int rows = c->chunk_seqs * c->ctx;
    return lq_llama_acts_alloc(&c->a, hp, rows, c->ctx, c->ctx, nt, e);
}

static void calib_close(w8_calib *c) {
    lq_free_aligned(c->X);
    for (int p = 0; p < LQ_POINT_COUNT; p++) free(c->cmax[p]), lq_observer_free(c->obs[p]);
    if (c->a.x) lq_llama_acts_free(&c->a);
}

llmq_status lq_w8a8_llama_weights(lq_gguf_writer *w, llmq_model *m, const void *ctx, save_opts *o) {
    (void)ctx;
    const lq_w8a8_opts *q = o->w8a8;
    lq_llama *L = m->llama;
    const lq_llama_hparams *hp = lq_llama_hparams_of(L);
    bool calib = !q->dynamic || q->smooth_alpha > 0;
    o->total = 2 + !L->tied + 9 * hp->n_layer + (q->dynamic ? 0 : 7 * hp->n_layer);
    LQ_TRY(lq_save_qweight(w, "token_embd.weight", &L->tok_embd, o));
    LQ_TRY(lq_save_matrix(w, "output_norm.weight", L->output_norm, hp->n_embd, 1, o));
    if (!L->tied) LQ_TRY(lq_save_qweight(w, "output.weight", &L->output, o));
    w8_calib c;
    memset(&c, 0, sizeof c);
    int32_t *toks = NULL;
    llmq_status st = calib ? calib_open(&c, m, q, &toks, o->n_threads, o->e) : LLMQ_OK;
    for (int l = 0; l < hp->n_layer && st == LLMQ_OK; l++) {
        w8_block b;
        memset(&b, 0, sizeof b);
        st = block_load(&b, &L->layers[l], hp->n_embd, o->e);
        uint64_t source = st == LLMQ_OK ? checksum(&b, hp->n_embd, o) : 0;
        if (st == LLMQ_OK && calib) st = calibrate(&c, &b, l, q, o->e);
        if (st == LLMQ_OK) st = write_block(w, &b, l, hp->n_embd, !q->dynamic, o);
        o->fnv = source; /* the source weights, not the smoothed ones */
        block_free(&b);
    }
    if (calib) calib_close(&c);
    free(toks);
    return st;
}
