/* Calibration of a W8A8 BERT file: the float encoder runs over calibration
 * sentences with a hook at every linear layer's input.
 *
 * SmoothQuant: pass 1 takes each input channel's largest |x|. In this
 * post-LN encoder the LayerNorm outputs feeding q/k/v and the FFN are also
 * the residual stream, so 1/s cannot be folded into those LayerNorms without
 * changing the residual: there the factors are written as
 * "<weight>.smooth_inv" and the runtime multiplies the input by them before
 * quantizing (one pass over the input). The attention output projection's
 * input is the attention-weighted sum of v, linear per channel: 1/s is
 * folded into v's rows and bias exactly. The weight columns take s. The
 * FFN down projection (after GELU) is left alone: measured on MiniLM,
 * smoothing it too lowered static-int8's cosine (0.988 -> 0.934).
 *
 * Static scales: pass 2 feeds each input (times its factors) to one observer
 * per input point; scale = threshold / 127. */
#include "model/bert_w8a8.h"

#include "algo/observer.h"
#include "algo/smoothquant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct seqs {
    int32_t **tok;
    int *len;
    int n, cap;
} seqs;

static void seqs_free(seqs *s) {
    for (int i = 0; i < s->n; i++) free(s->tok[i]);
    free(s->tok);
    free(s->len);
}

/* One sentence per non-empty line, [CLS] .. [SEP] cut to LQ_BERT_CALIB_TOKENS
 * keeping the final [SEP], as Hugging Face truncation does. */
static llmq_status tokenize_lines(const llmq_model *m, const char *text, size_t len, seqs *s, lq_err *e) {
    for (size_t a = 0; a < len;) {
        size_t b = a;
        while (b < len && text[b] != '\n') b++;
        size_t n = b - a, cap = n + 3, got = 0;
        if (n && text[a + n - 1] == '\r') n--;
        int32_t *t = n ? malloc(cap * sizeof *t) : NULL;
        if (n) {
            LQ_CHECK(t, e, LLMQ_ERR_NOMEM, "out of memory");
            llmq_status st = llmq_tokenize(m, text + a, n, 1, t, cap, &got);
            if (st != LLMQ_OK || got <= 2) {
                free(t);
                LQ_CHECK(st == LLMQ_OK, e, st, "cannot tokenize a calibration sentence");
                t = NULL;
            }
        }
        if (t) {
            if (got > LQ_BERT_CALIB_TOKENS) t[LQ_BERT_CALIB_TOKENS - 1] = t[got - 1], got = LQ_BERT_CALIB_TOKENS;
            if (s->n == s->cap) {
                int nc = s->cap ? 2 * s->cap : 64;
                int32_t **nt = realloc(s->tok, (size_t)nc * sizeof *nt);
                if (nt) s->tok = nt;
                int *nl = nt ? realloc(s->len, (size_t)nc * sizeof *nl) : NULL;
                if (nl) s->len = nl;
                if (!nt || !nl) free(t);
                LQ_CHECK(nt && nl, e, LLMQ_ERR_NOMEM, "out of memory");
                s->cap = nc;
            }
            s->tok[s->n] = t, s->len[s->n++] = (int)got;
        }
        a = b + 1;
    }
    LQ_CHECK(s->n > 0, e, LLMQ_ERR_ARG, "no calibration sentences (one per line expected)");
    return LLMQ_OK;
}

typedef struct calib {
    int n_cols;             /* amax stride: the widest input */
    float *amax;            /* pass 1: n_layer * N_IN * n_cols */
    lq_observer **obs;      /* pass 2: n_layer * N_IN */
    float *const *mul;      /* pass 2: factors applied before observing, or NULL */
    float *buf;             /* real rows of one input */
} calib;

static void hook(void *user, int layer, int point, const float *x, const uint8_t *mask, int rows, int cols) {
    calib *c = user;
    size_t at = (size_t)layer * LQ_BERT_N_IN + (size_t)point;
    if (c->amax) {
        float *mx = c->amax + at * (size_t)c->n_cols;
        for (int r = 0; r < rows; r++) {
            if (mask && !mask[r]) continue;
            for (int j = 0; j < cols; j++) {
                float a = fabsf(x[(size_t)r * cols + j]);
                mx[j] = a > mx[j] ? a : mx[j];
            }
        }
        return;
    }
    const float *mul = c->mul[at];
    size_t n = 0;
    for (int r = 0; r < rows; r++) {
        if (mask && !mask[r]) continue;
        float *o = c->buf + n * (size_t)cols;
        for (int j = 0; j < cols; j++) o[j] = mul ? x[(size_t)r * cols + j] * mul[j] : x[(size_t)r * cols + j];
        n++;
    }
    lq_observer_update(c->obs[at], c->buf, n * (size_t)cols);
}

/* The float encoder over every sentence, in right-padded batches. */
static llmq_status run_pass(lq_bert *b, const seqs *s, calib *c, int nt, lq_err *e) {
    const int B = LQ_BERT_CALIB_BATCH, T = LQ_BERT_CALIB_TOKENS;
    int32_t *tok = malloc((size_t)B * T * sizeof *tok);
    uint8_t *mask = malloc((size_t)B * T);
    float *out = malloc((size_t)B * b->hp.n_embd * sizeof *out);
    llmq_status st = tok && mask && out ? LLMQ_OK : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory");
    b->hook = hook, b->hook_user = c;
    for (int i0 = 0; st == LLMQ_OK && i0 < s->n; i0 += B) {
        int nb = s->n - i0 < B ? s->n - i0 : B, len = 0;
        for (int i = 0; i < nb; i++) len = s->len[i0 + i] > len ? s->len[i0 + i] : len;
        for (int i = 0; i < nb; i++)
            for (int t = 0; t < len; t++) {
                bool real = t < s->len[i0 + i];
                tok[i * len + t] = real ? s->tok[i0 + i][t] : 0;
                mask[i * len + t] = real;
            }
        st = lq_bert_embed_batch(b, tok, mask, nb, len, out, nt, e);
    }
    b->hook = NULL, b->hook_user = NULL;
    free(tok);
    free(mask);
    free(out);
    return st;
}

static void scale_cols(float *W, int rows, int cols, const float *s) {
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++) W[(size_t)r * cols + j] *= s[j];
}

/* SmoothQuant factors from pass 1's maxima: v/wo folded now (exact), the
 * other inputs' 1/s kept in p->smooth_inv (columns scaled later, after the
 * observers have seen the float model's activations). */
static llmq_status smooth_factors(lq_bert_w8a8_plan *p, const float *amax, int stride, float alpha, lq_err *e) {
    lq_bert *b = p->b;
    int C = b->hp.n_embd, F = b->hp.n_ff;
    float *s = malloc((size_t)F * sizeof *s);
    LQ_CHECK(s, e, LLMQ_ERR_NOMEM, "out of memory");
    for (int l = 0; l < b->hp.n_layer; l++) {
        lq_bert_layer *L = &b->layers[l];
        const float *mx = amax + (size_t)l * LQ_BERT_N_IN * stride;
        /* attention output: divide v's rows and bias, multiply wo's columns */
        const float *wo[] = {L->wo};
        int rows_c[] = {C, C, C};
        lq_smooth_scales(mx + (size_t)LQ_BERT_IN_ATTN_OUT * stride, wo, rows_c, 1, C, alpha, s);
        for (int j = 0; j < C; j++) {
            for (int k = 0; k < C; k++) L->wv[(size_t)j * C + k] /= s[j];
            L->bv[j] /= s[j];
        }
        scale_cols(L->wo, C, C, s);
        /* the others: 1/s applied to the input at run time */
        struct { int point, cols, n_w; const float *w[3]; int rows[3]; } in[] = {
            {LQ_BERT_IN_QKV, C, 3, {L->wq, L->wk, L->wv}, {C, C, C}},
            {LQ_BERT_IN_FFN_UP, C, 1, {L->w_ff1, NULL, NULL}, {F, 0, 0}},
        };
        for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
            float *inv = lq_alloc_aligned((size_t)in[i].cols * sizeof *inv);
            if (!inv) return free(s), lq_fail(e, LLMQ_ERR_NOMEM, "out of memory");
            p->smooth_inv[(size_t)l * LQ_BERT_N_IN + (size_t)in[i].point] = inv;
            lq_smooth_scales(mx + (size_t)in[i].point * stride, in[i].w, in[i].rows, in[i].n_w, in[i].cols, alpha,
                             s);
            for (int j = 0; j < in[i].cols; j++) inv[j] = 1.0f / s[j];
        }
    }
    free(s);
    return LLMQ_OK;
}

/* Weight columns times s = 1 / smooth_inv. */
static llmq_status smooth_weights(lq_bert_w8a8_plan *p, lq_err *e) {
    lq_bert *b = p->b;
    int C = b->hp.n_embd, F = b->hp.n_ff;
    float *s = malloc((size_t)F * sizeof *s);
    LQ_CHECK(s, e, LLMQ_ERR_NOMEM, "out of memory");
    for (int l = 0; l < b->hp.n_layer; l++) {
        lq_bert_layer *L = &b->layers[l];
        float *const *inv = p->smooth_inv + (size_t)l * LQ_BERT_N_IN;
        struct { int point, cols, n_w; float *w[3]; int rows[3]; } in[] = {
            {LQ_BERT_IN_QKV, C, 3, {L->wq, L->wk, L->wv}, {C, C, C}},
            {LQ_BERT_IN_FFN_UP, C, 1, {L->w_ff1, NULL, NULL}, {F, 0, 0}},
        };
        for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
            if (!inv[in[i].point]) continue;
            for (int j = 0; j < in[i].cols; j++) s[j] = 1.0f / inv[in[i].point][j];
            for (int k = 0; k < in[i].n_w; k++) scale_cols(in[i].w[k], in[i].rows[k], in[i].cols, s);
        }
    }
    free(s);
    return LLMQ_OK;
}

static llmq_status observe(lq_bert_w8a8_plan *p, const seqs *s, const lq_w8a8_opts *q, int nt, lq_err *e) {
    size_t n_at = (size_t)p->b->hp.n_layer * LQ_BERT_N_IN;
    calib c = {0};
    c.obs = calloc(n_at, sizeof *c.obs);
    c.mul = p->smooth_inv;
    c.buf = malloc((size_t)LQ_BERT_CALIB_BATCH * LQ_BERT_CALIB_TOKENS * p->b->hp.n_ff * sizeof *c.buf);
    llmq_status st = c.obs && c.buf ? LLMQ_OK : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == LLMQ_OK && i < n_at; i++)
        if (!(c.obs[i] = lq_observer_new((lq_observer_kind)q->observer))) st = lq_fail(e, LLMQ_ERR_NOMEM, "out of memory");
    if (st == LLMQ_OK) st = run_pass(p->b, s, &c, nt, e);
    for (size_t i = 0; st == LLMQ_OK && i < n_at; i++) p->act_scale[i] = lq_observer_threshold(c.obs[i]) / 127.0f;
    for (size_t i = 0; c.obs && i < n_at; i++) lq_observer_free(c.obs[i]);
    free(c.obs);
    free(c.buf);
    return st;
}

llmq_status lq_bert_w8a8_plan_make(const llmq_model *m, const lq_w8a8_opts *q, int n_threads, lq_bert_w8a8_plan *p,
                                   lq_err *e) {
    memset(p, 0, sizeof *p);
    const lq_bert *src = m->bert;
    LQ_CHECK(!lq_bert_is_w8a8(src), e, LLMQ_ERR_UNSUPPORTED,
             "this model already has INT8 layers: quantize the float model instead");
    size_t n_at = (size_t)src->hp.n_layer * LQ_BERT_N_IN;
    p->b = lq_bert_clone(src);
    p->act_scale = calloc(n_at, sizeof *p->act_scale);
    p->smooth_inv = calloc(n_at, sizeof *p->smooth_inv);
    LQ_CHECK(p->b && p->act_scale && p->smooth_inv, e, LLMQ_ERR_NOMEM, "out of memory for a copy of the weights");
    bool smooth = q->smooth_alpha > 0;
    if (q->dynamic && !smooth) return LLMQ_OK;
    LQ_CHECK(q->calib_text, e, LLMQ_ERR_ARG, "static scales and SmoothQuant need calibration sentences");
    seqs s = {0};
    llmq_status st = tokenize_lines(m, q->calib_text, q->calib_len, &s, e);
    p->n_sentences = s.n;
    int nt = n_threads > 0 ? n_threads : lq_n_cpus();
    if (st == LLMQ_OK && smooth) {
        calib c = {.n_cols = src->hp.n_ff};
        c.amax = calloc(n_at * (size_t)c.n_cols, sizeof *c.amax);
        st = c.amax ? run_pass(p->b, &s, &c, nt, e) : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory");
        if (st == LLMQ_OK) st = smooth_factors(p, c.amax, c.n_cols, q->smooth_alpha, e);
        free(c.amax);
    }
    if (st == LLMQ_OK && !q->dynamic) st = observe(p, &s, q, nt, e);
    if (st == LLMQ_OK && smooth) st = smooth_weights(p, e);
    seqs_free(&s);
    return st;
}

void lq_bert_w8a8_plan_free(lq_bert_w8a8_plan *p) {
    size_t n_at = p->b ? (size_t)p->b->hp.n_layer * LQ_BERT_N_IN : 0;
    for (size_t i = 0; p->smooth_inv && i < n_at; i++) lq_free_aligned(p->smooth_inv[i]);
    free(p->smooth_inv);
    free(p->act_scale);
    lq_bert_free(p->b);
    memset(p, 0, sizeof *p);
}
