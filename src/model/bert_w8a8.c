/* BERT with INT8 linear layers (W8A8 files): binding the I8_CH weights and
 * their activation scales, and a deep copy of the float weights for the
 * writer's calibration and SmoothQuant. */
#include "model/bert_internal.h"
#include "model/model_internal.h"

#include "quant/types_llmq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lq_bert_sub_input(int i) {
    static const int point[LQ_BERT_N_SUB] = {LQ_BERT_IN_QKV,    LQ_BERT_IN_QKV,    LQ_BERT_IN_QKV,
                                             LQ_BERT_IN_ATTN_OUT, -1, LQ_BERT_IN_FFN_UP,
                                             LQ_BERT_IN_FFN_DOWN, -1};
    return i >= 0 && i < LQ_BERT_N_SUB ? point[i] : -1;
}

static float *dup_floats(const float *src, size_t n) {
    if (!src) return NULL;
    float *d = lq_alloc_aligned(n * sizeof(float));
    if (d) memcpy(d, src, n * sizeof(float));
    return d;
}

lq_bert *lq_bert_clone(const lq_bert *b) {
    const lq_bert_hparams *hp = &b->hp;
    size_t C = (size_t)hp->n_embd, F = (size_t)hp->n_ff;
    lq_bert *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->hp = *hp;
    c->layers = calloc((size_t)hp->n_layer, sizeof *c->layers);
    bool ok = c->layers != NULL;
    ok = ok && (c->wte = dup_floats(b->wte, (size_t)hp->n_vocab * C));
    ok = ok && (c->wpe = dup_floats(b->wpe, (size_t)hp->n_pos * C));
    ok = ok && (c->wtt = dup_floats(b->wtt, (size_t)hp->n_types * C));
    ok = ok && (c->ln_e_w = dup_floats(b->ln_e_w, C)) && (c->ln_e_b = dup_floats(b->ln_e_b, C));
    for (int l = 0; ok && l < hp->n_layer; l++)
        for (int i = 0; ok && i < LQ_BERT_N_SUB; i++) {
            const lq_bert_sub *s = &lq_bert_subs[i];
            size_t out = s->out == 'F' ? F : C, in = s->in == 'F' ? F : s->in ? C : 1;
            float *w = *lq_bert_field(&b->layers[l], s->w), *bias = *lq_bert_field(&b->layers[l], s->b);
            ok = (!w || (*lq_bert_field(&c->layers[l], s->w) = dup_floats(w, out * in))) &&
                 (*lq_bert_field(&c->layers[l], s->b) = dup_floats(bias, out));
        }
    if (!ok) {
        lq_bert_free(c);
        return NULL;
    }
    return c;
}

static const lq_tensor *find(const lq_tensor *ts, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(ts[i].name, name) == 0) return &ts[i];
    return NULL;
}

/* One-value or in-value F32 vector named name, or NULL when absent. */
static llmq_status f32_vector(const lq_tensor *ts, size_t n, const char *name, int len, const lq_tensor **out,
                              lq_err *e) {
    const lq_tensor *t = find(ts, n, name);
    *out = t;
    if (!t) return LLMQ_OK;
    LQ_CHECK(t->type == LQ_TYPE_F32 && t->n_dims == 1 && t->ne[0] == len && t->nbytes == (uint64_t)len * 4, e,
             LLMQ_ERR_SHAPE, "tensor '%s' must be %d F32 value(s)", name, len);
    return LLMQ_OK;
}

static llmq_status attach_one(lq_bert_layer *L, int i, const char *wname, int out, int in, const lq_tensor *ts,
                              size_t n, float thr, lq_err *e) {
    const lq_tensor *t = find(ts, n, wname);
    if (!t || t->type != LQ_TYPE_I8_CH) return LLMQ_OK; /* stays a float layer */
    LQ_CHECK(t->n_dims == 2 && t->ne[0] == in && t->ne[1] == out &&
                 t->nbytes == (uint64_t)out * (sizeof(float) + (uint64_t)in),
             e, LLMQ_ERR_SHAPE, "tensor '%s' is not %d x %d I8_CH rows", wname, out, in);
    char name[160];
    const lq_tensor *as, *sm;
    snprintf(name, sizeof name, "%s.act_scale", wname);
    LQ_TRY(f32_vector(ts, n, name, 1, &as, e));
    snprintf(name, sizeof name, "%s.smooth_inv", wname);
    LQ_TRY(f32_vector(ts, n, name, in, &sm, e));
    lq_bert_q8 *q = calloc(1, sizeof *q);
    LQ_CHECK(q, e, LLMQ_ERR_NOMEM, "out of memory");
    L->q8[i] = q;
    LQ_CHECK(lq_w8a8_init(&q->lin, t->data, out, in), e, LLMQ_ERR_NOMEM, "out of memory packing '%s'", wname);
    if (as) {
        memcpy(&q->lin.act_scale, as->data, sizeof(float));
        LQ_CHECK(q->lin.act_scale > 0, e, LLMQ_ERR_FORMAT, "tensor '%s.act_scale' must be positive", wname);
    }
    q->lin.outlier_threshold = thr;
    if (sm) {
        q->in_mul = lq_alloc_aligned((size_t)in * sizeof(float));
        LQ_CHECK(q->in_mul, e, LLMQ_ERR_NOMEM, "out of memory");
        memcpy(q->in_mul, sm->data, (size_t)in * sizeof(float));
    }
    float **w = lq_bert_field(L, lq_bert_subs[i].w);
    lq_free_aligned(*w); /* the INT8 layer replaces it */
    *w = NULL;
    return LLMQ_OK;
}

llmq_status lq_bert_attach_w8a8(lq_bert *b, const lq_tensor *ts, size_t n, float outlier_threshold, lq_err *e) {
    const lq_bert_hparams *hp = &b->hp;
    for (int l = 0; l < hp->n_layer; l++)
        for (int i = 0; i < LQ_BERT_N_SUB; i++) {
            const lq_bert_sub *s = &lq_bert_subs[i];
            if (!s->in) continue;
            char wname[96];
            snprintf(wname, sizeof wname, "blk.%d.%s.weight", l, s->gguf);
            int out = s->out == 'F' ? hp->n_ff : hp->n_embd, in = s->in == 'F' ? hp->n_ff : hp->n_embd;
            LQ_TRY(attach_one(&b->layers[l], i, wname, out, in, ts, n, outlier_threshold, e));
        }
    for (int l = 0; l < hp->n_layer; l++) {
        lq_bert_layer *L = &b->layers[l];
        bool same = L->q8[0] && L->q8[1] && L->q8[2];
        for (int i = 1; same && i < 3; i++) {
            const lq_bert_q8 *a = L->q8[0], *c = L->q8[i];
            same = a->lin.act_scale == c->lin.act_scale && !a->in_mul == !c->in_mul &&
                   (!a->in_mul || !memcmp(a->in_mul, c->in_mul, (size_t)hp->n_embd * sizeof(float)));
        }
        L->qkv_shared = same;
    }
    return LLMQ_OK;
}

bool lq_bert_is_w8a8(const lq_bert *b) {
    for (int l = 0; l < b->hp.n_layer; l++)
        for (int i = 0; i < LQ_BERT_N_SUB; i++)
            if (b->layers[l].q8[i]) return true;
    return false;
}

void lq_bert_w8a8_stats(const lq_bert *b, uint64_t *routed, uint64_t *seen) {
    *routed = *seen = 0;
    for (int l = 0; l < b->hp.n_layer; l++)
        for (int i = 0; i < LQ_BERT_N_SUB; i++) {
            const lq_bert_q8 *q = b->layers[l].q8[i];
            if (!q) continue;
            *routed += q->lin.outlier_cols;
            *seen += q->lin.seen_cols;
        }
}

int llmq_embed_w8a8_stats(const llmq_model *m, uint64_t *routed, uint64_t *seen) {
    *routed = *seen = 0;
    if (!m->bert || !lq_bert_is_w8a8(m->bert)) return 0;
    lq_bert_w8a8_stats(m->bert, routed, seen);
    return 1;
}
