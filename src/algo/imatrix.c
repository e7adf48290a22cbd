/* llmq_model_imatrix: llama-imatrix's importance matrix, gathered with the
 * layer-by-layer calibration state over groups of chunks. */
#include "algo/imatrix_file.h"
#include "model/llama_calib.h"
#include "model/model_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chunks run together: X and the temporaries stay a few MB at any text size. */
enum { GROUP_ROWS = 2048 };

llmq_imatrix_params llmq_imatrix_default_params(void) {
    llmq_imatrix_params p = {512, 0, false, NULL, NULL, NULL};
    return p;
}

/* Sums of one model: per layer the four input points, then the head's. */
typedef struct sums {
    int n_layer, C, F;
    double *x2;    /* n_layer * (3C + F), then C for the output head */
    int64_t count; /* tokens per input point */
} sums;

static double *point_sums(const sums *s, int l, int p) {
    size_t per_layer = (size_t)3 * s->C + s->F;
    return s->x2 + (size_t)l * per_layer + (size_t)p * s->C; /* FFN_MID comes last: offset 3C */
}

static llmq_status run_group(lq_llama *L, const int32_t *toks, int n_seq, int n_ctx, int nt, bool head, sums *s,
                             lq_err *e) {
    lq_calib *c;
    LQ_TRY(lq_calib_open(L, toks, n_seq, n_ctx, nt, &c, e));
    llmq_status st = LLMQ_OK;
    lq_calib_stats out[LQ_POINT_COUNT];
    for (int l = 0; l < s->n_layer && st == LLMQ_OK; l++) {
        st = lq_calib_block_stats(c, l, LQ_CALIB_ADVANCE, out, e);
        for (int p = 0; p < LQ_POINT_COUNT && st == LLMQ_OK; p++) {
            double *dst = point_sums(s, l, p);
            for (int j = 0; j < out[p].cols; j++) dst[j] += out[p].sum_x2[j];
        }
        for (int p = 0; p < LQ_POINT_COUNT && st == LLMQ_OK; p++) lq_calib_stats_free(&out[p]);
    }
    if (st == LLMQ_OK && head) {
        st = lq_calib_final_stats(c, 0, out, e);
        double *dst = point_sums(s, s->n_layer, 0);
        for (int j = 0; st == LLMQ_OK && j < out[0].cols; j++) dst[j] += out[0].sum_x2[j];
        if (st == LLMQ_OK) lq_calib_stats_free(&out[0]);
    }
    lq_calib_free(c);
    s->count += (int64_t)n_seq * n_ctx;
    return st;
}

/* The file's entries: llama.cpp's weight names over the gathered sums. */
static llmq_status write_file(const sums *s, bool head, const char *path, int n_chunks, int n_ctx, const char *dataset,
                              int *n_entries, lq_err *e) {
    static const struct { const char *w; int point; } ws[] = {
        {"attn_q", LQ_POINT_ATTN_IN},  {"attn_k", LQ_POINT_ATTN_IN}, {"attn_v", LQ_POINT_ATTN_IN},
        {"attn_output", LQ_POINT_ATTN_OUT}, {"ffn_gate", LQ_POINT_FFN_IN}, {"ffn_up", LQ_POINT_FFN_IN},
        {"ffn_down", LQ_POINT_FFN_MID},
    };
    enum { PER_LAYER = sizeof ws / sizeof ws[0] };
    int n = s->n_layer * PER_LAYER + (head ? 1 : 0);
    lq_imatrix_sums *es = lq_calloc_array((size_t)n, sizeof *es);
    char (*names)[48] = lq_calloc_array((size_t)n, sizeof *names);
    llmq_status st = es && names ? LLMQ_OK : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory");
    for (int i = 0; st == LLMQ_OK && i < n; i++) {
        int l = i / PER_LAYER, k = i % PER_LAYER, p = l < s->n_layer ? ws[k].point : 0;
        if (l < s->n_layer) snprintf(names[i], sizeof names[i], "blk.%d.%s.weight", l, ws[k].w);
        else snprintf(names[i], sizeof names[i], "output.weight");
        es[i] = (lq_imatrix_sums){names[i], p == LQ_POINT_FFN_MID ? s->F : s->C, point_sums(s, l, p), s->count};
    }
    lq_imatrix_meta meta = {n_chunks, n_ctx, dataset};
    if (st == LLMQ_OK) st = lq_imatrix_write(path, es, n, &meta, e);
    *n_entries = n;
    free(es);
    free(names);
    return st;
}

static llmq_status gather_all(llmq_model *m, const int32_t *toks, int n_chunks, const llmq_imatrix_params *p,
                              bool head, sums *s, lq_err *e) {
    int n_ctx = p->n_ctx, group = LQ_MAX(1, GROUP_ROWS / n_ctx);
    for (int i = 0; i < n_chunks; i += group) {
        int ns = LQ_MIN(group, n_chunks - i);
        LQ_TRY(run_group(m->llama, toks + (size_t)i * n_ctx, ns, n_ctx, m->n_threads, head, s, e));
        if (p->progress) p->progress(p->user, i + ns, n_chunks);
    }
    return LLMQ_OK;
}

llmq_status llmq_model_imatrix(llmq_model *m, const char *text, size_t len, const llmq_imatrix_params *params,
                               const char *out_path, llmq_imatrix_result *result, llmq_error *err) {
    llmq_imatrix_params p = params ? *params : llmq_imatrix_default_params();
    double t0 = lq_now();
    LQ_CHECK(m->llama, err, LLMQ_ERR_UNSUPPORTED, "an importance matrix needs a decoder; this model is an encoder");
    LQ_CHECK(p.n_ctx >= 4 && p.n_ctx <= (1 << 20), err, LLMQ_ERR_ARG, "context %d is out of range (4..1048576)",
             p.n_ctx);
    LQ_CHECK(out_path && out_path[0], err, LLMQ_ERR_ARG, "no output file given");
    size_t cap = len + 8, n_tok = 0, n_empty = 0; /* as llmq_perplexity: one token per byte at most, plus specials */
    int32_t *toks = lq_malloc_array(cap, sizeof(int32_t));
    LQ_CHECK(toks, err, LLMQ_ERR_NOMEM, "out of memory for up to %zu tokens", cap);
    llmq_status st = llmq_tokenize(m, text, len, 1, toks, cap, &n_tok);
    if (st != LLMQ_OK) st = lq_fail(err, st, "tokenizing the text failed (%s)", llmq_status_str(st));
    else if (n_tok < 2 * (size_t)p.n_ctx)
        st = lq_fail(err, LLMQ_ERR_ARG, "text has %zu tokens: need at least 2 x %d (the context)", n_tok, p.n_ctx);
    int max_chunks = (int)LQ_MIN(n_tok / (size_t)p.n_ctx, INT32_MAX);
    int n_chunks = p.n_chunks > 0 ? LQ_MIN(p.n_chunks, max_chunks) : max_chunks;
    /* each chunk starts with BOS when the vocabulary adds one, as llama-imatrix */
    llmq_tokenize(m, "", 0, 1, NULL, 0, &n_empty);
    if (st == LLMQ_OK && n_empty == 1 && llmq_token_bos(m) >= 0)
        for (int i = 0; i < n_chunks; i++) toks[(size_t)i * p.n_ctx] = llmq_token_bos(m);
    const lq_llama_hparams *hp = lq_llama_hparams_of(m->llama);
    bool head = p.process_output && !lq_llama_tied(m->llama);
    sums s = {hp->n_layer, hp->n_embd, hp->n_ff, NULL, 0};
    size_t n_sums = (size_t)hp->n_layer * (3 * (size_t)hp->n_embd + hp->n_ff) + hp->n_embd;
    if (st == LLMQ_OK && !(s.x2 = lq_calloc_array(n_sums, sizeof(double))))
        st = lq_fail(err, LLMQ_ERR_NOMEM, "out of memory");
    if (st == LLMQ_OK) st = gather_all(m, toks, n_chunks, &p, head, &s, err);
    int n_entries = 0;
    if (st == LLMQ_OK) st = write_file(&s, head, out_path, n_chunks, p.n_ctx, p.dataset, &n_entries, err);
    free(toks);
    free(s.x2);
    if (st == LLMQ_OK && result)
        *result = (llmq_imatrix_result){n_chunks, n_entries, (int64_t)n_tok, lq_now() - t0};
    return st;
}
