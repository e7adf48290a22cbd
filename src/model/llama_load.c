/* Binding llama weights by name: matrices kept quantized where a kernel
 * runs their type, everything else converted to F32. */
#include "model/llama_internal.h"
#include "io/mapfile.h"

#include "quant/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const lq_tensor *find(const lq_tensor *ts, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(ts[i].name, name) == 0) return &ts[i];
    return NULL;
}

/* GGUF name -> name in the given layout ("blk.%d.attn_q.weight" style in,
 * with the layer index already substituted). */
static void layout_name(char *out, size_t cap, lq_llama_layout layout, int layer, const char *what) {
    if (layout == LQ_LAYOUT_GGUF) {
        if (layer < 0) snprintf(out, cap, "%s.weight", what);
        else snprintf(out, cap, "blk.%d.%s.weight", layer, what);
        return;
    }
    static const char *const map[][2] = {
        {"token_embd", "model.embed_tokens"}, {"output_norm", "model.norm"},
        {"output", "lm_head"}, {"attn_norm", "input_layernorm"},
        {"attn_q", "self_attn.q_proj"}, {"attn_k", "self_attn.k_proj"},
        {"attn_v", "self_attn.v_proj"}, {"attn_output", "self_attn.o_proj"},
        {"ffn_norm", "post_attention_layernorm"}, {"ffn_gate", "mlp.gate_proj"},
        {"ffn_up", "mlp.up_proj"}, {"ffn_down", "mlp.down_proj"},
    };
    const char *hf = what;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], what) == 0) hf = map[i][1];
    if (layer < 0) snprintf(out, cap, "%s.weight", hf);
    else snprintf(out, cap, "model.layers.%d.%s.weight", layer, hf);
}

/* Hugging Face stores Q/K rows so that RoPE rotates halves of each head;
 * GGUF stores them so that it rotates adjacent pairs. Undo the HF order:
 * new row h*hd + 2i + j <- old row h*hd + j*hd/2 + i. */
static llmq_status unpermute_rows(float *w, int n_head, int hd, int cols, lq_err *e) {
    size_t head_bytes = (size_t)hd * cols * sizeof(float);
    float *tmp = malloc(head_bytes);
    LQ_CHECK(tmp, e, LLMQ_ERR_NOMEM, "out of memory");
    for (int h = 0; h < n_head; h++) {
        float *base = w + (size_t)h * hd * cols;
        memcpy(tmp, base, head_bytes);
        for (int i = 0; i < hd / 2; i++)
            for (int j = 0; j < 2; j++)
                memcpy(base + (size_t)(2 * i + j) * cols, tmp + (size_t)(j * hd / 2 + i) * cols,
                       cols * sizeof(float));
    }
    free(tmp);
    return LLMQ_OK;
}

typedef struct binder {
    const lq_tensor *ts;
    size_t n;
    lq_llama_layout layout;
    const lq_mapfile *map;
    lq_err *e;
} binder;

/* Finds the tensor and checks its shape is (ne0, ne1) and its size; NULL
 * (and OK) when it is optional and missing. */
static llmq_status find_checked(const binder *b, int layer, const char *what, int64_t ne0, int64_t ne1,
                                bool optional, const lq_tensor **out) {
    char name[128];
    layout_name(name, sizeof name, b->layout, layer, what);
    *out = NULL;
    const lq_tensor *t = find(b->ts, b->n, name);
    if (!t && optional) return LLMQ_OK;
    LQ_CHECK(t, b->e, LLMQ_ERR_MISSING, "missing tensor '%s'", name);
    bool ok = t->ne[0] == ne0 && t->ne[1] == ne1 && t->ne[2] == 1 && t->ne[3] == 1;
    LQ_CHECK(ok, b->e, LLMQ_ERR_SHAPE, "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]",
             name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
             (long long)ne0, (long long)ne1);
    const lq_type_traits *tr = lq_type_get(t->type);
    LQ_CHECK(tr && tr->to_float, b->e, LLMQ_ERR_UNSUPPORTED, "tensor '%s': type %s cannot be dequantized",
             name, lq_type_name(t->type));
    size_t need = lq_row_size(t->type, ne0);
    LQ_CHECK(need && t->nbytes == need * (uint64_t)ne1, b->e, LLMQ_ERR_SHAPE,
             "tensor '%s': %llu bytes do not match its shape", name, (unsigned long long)t->nbytes);
    *out = t;
    return LLMQ_OK;
}

/* A vector (norm weights) converted to a new F32 buffer. */
static llmq_status bind_vec(const binder *b, int layer, const char *what, int64_t ne0, float **out) {
    const lq_tensor *t;
    *out = NULL;
    LQ_TRY(find_checked(b, layer, what, ne0, 1, false, &t));
    float *w = lq_alloc_aligned((size_t)ne0 * sizeof(float));
    LQ_CHECK(w, b->e, LLMQ_ERR_NOMEM, "out of memory for '%s'", t->name);
    lq_type_get(t->type)->to_float(t->data, w, ne0);
    *out = w;
    return LLMQ_OK;
}

/* A matrix of ne1 rows of ne0 values: kept in its type when a kernel runs it
 * (GGUF layout), else converted to F32; HF Q/K rows are reordered (n_head > 0). */
static llmq_status bind_mat(const binder *b, int layer, const char *what, int64_t ne0, int64_t ne1,
                            bool optional, int n_head, lq_qweight *out) {
    const lq_tensor *t;
    memset(out, 0, sizeof *out);
    LQ_TRY(find_checked(b, layer, what, ne0, ne1, optional, &t));
    if (!t) return LLMQ_OK;
    bool keep = b->layout == LQ_LAYOUT_GGUF;
    LQ_CHECK(lq_qweight_init(out, t->type, t->data, (int)ne1, (int)ne0, keep), b->e, LLMQ_ERR_NOMEM,
             "out of memory for '%s'", t->name);
    /* a copy (F32, planar rows): the file's pages are not read again */
    if (out->owned) lq_map_release(b->map, t->data, lq_row_size(t->type, ne0) * (size_t)ne1);
    if (n_head > 0 && b->layout == LQ_LAYOUT_HF)
        return unpermute_rows(lq_qweight_f32(out), n_head, (int)(ne1 / n_head), (int)ne0, b->e);
    return LLMQ_OK;
}

static llmq_status check_hparams(const lq_llama_hparams *hp, lq_err *e) {
    LQ_CHECK(hp->n_vocab > 0 && hp->n_embd > 0 && hp->n_layer > 0 && hp->n_head > 0 && hp->n_ff > 0 &&
                 hp->n_head_kv > 0,
             e, LLMQ_ERR_SHAPE, "hyper-parameters must be positive (vocab %d, width %d, layers %d, heads %d/%d, ffn %d)",
             hp->n_vocab, hp->n_embd, hp->n_layer, hp->n_head, hp->n_head_kv, hp->n_ff);
    LQ_CHECK(hp->n_embd <= (1 << 20) && hp->n_ff <= (1 << 22) && hp->n_vocab <= (1 << 24) && hp->n_layer <= 4096,
             e, LLMQ_ERR_SHAPE, "hyper-parameters out of range");
    LQ_CHECK(hp->n_embd % hp->n_head == 0, e, LLMQ_ERR_SHAPE,
             "head count %d does not divide the width %d", hp->n_head, hp->n_embd);
    LQ_CHECK(hp->n_head % hp->n_head_kv == 0, e, LLMQ_ERR_SHAPE,
             "kv head count %d does not divide the head count %d", hp->n_head_kv, hp->n_head);
    int hd = hp->n_embd / hp->n_head;
    LQ_CHECK(hd % 2 == 0 && hd <= 1024, e, LLMQ_ERR_SHAPE, "head size %d is odd or above 1024", hd);
    return LLMQ_OK;
}

static llmq_status bind_layer(const binder *b, const lq_llama_hparams *hp, int l, lq_llama_layer *L) {
    int C = hp->n_embd, F = hp->n_ff, kvd = C / hp->n_head * hp->n_head_kv;
    LQ_TRY(bind_vec(b, l, "attn_norm", C, &L->attn_norm));
    LQ_TRY(bind_mat(b, l, "attn_q", C, C, false, hp->n_head, &L->wq));
    LQ_TRY(bind_mat(b, l, "attn_k", C, kvd, false, hp->n_head_kv, &L->wk));
    LQ_TRY(bind_mat(b, l, "attn_v", C, kvd, false, 0, &L->wv));
    LQ_TRY(bind_mat(b, l, "attn_output", C, C, false, 0, &L->wo));
    LQ_TRY(bind_vec(b, l, "ffn_norm", C, &L->ffn_norm));
    LQ_TRY(bind_mat(b, l, "ffn_gate", C, F, false, 0, &L->w_gate));
    LQ_TRY(bind_mat(b, l, "ffn_up", C, F, false, 0, &L->w_up));
    LQ_TRY(bind_mat(b, l, "ffn_down", F, C, false, 0, &L->w_down));
    return LLMQ_OK;
}

llmq_status lq_llama_load(const lq_llama_hparams *hp, const lq_tensor *tensors, size_t n,
                          lq_llama_layout layout, const lq_mapfile *map, lq_llama **out, lq_err *e) {
    *out = NULL;
    LQ_TRY(check_hparams(hp, e));
    lq_llama *m = calloc(1, sizeof *m);
    LQ_CHECK(m, e, LLMQ_ERR_NOMEM, "out of memory");
    m->hp = *hp;
    m->n_threads = lq_n_cpus();
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    binder b = {tensors, n, layout, map, e};
    llmq_status st = m->layers ? LLMQ_OK : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory");
    if (st == LLMQ_OK) st = bind_mat(&b, -1, "token_embd", hp->n_embd, hp->n_vocab, false, 0, &m->tok_embd);
    if (st == LLMQ_OK) st = bind_vec(&b, -1, "output_norm", hp->n_embd, &m->output_norm);
    if (st == LLMQ_OK) st = bind_mat(&b, -1, "output", hp->n_embd, hp->n_vocab, true, 0, &m->output);
    for (int l = 0; st == LLMQ_OK && l < hp->n_layer; l++) st = bind_layer(&b, hp, l, &m->layers[l]);
    if (st != LLMQ_OK) {
        lq_llama_free(m);
        return st;
    }
    if (!m->output.data) {
        m->output = m->tok_embd;
        m->output.owned = NULL; /* tok_embd frees it */
        m->tied = true;
    }
    *out = m;
    return LLMQ_OK;
}

void lq_llama_free(lq_llama *m) {
    if (!m) return;
    lq_qweight_free(&m->output);
    lq_qweight_free(&m->tok_embd);
    lq_free_aligned(m->output_norm);
    for (int l = 0; m->layers && l < m->hp.n_layer; l++) {
        lq_llama_layer *L = &m->layers[l];
        lq_qweight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) lq_qweight_free(ws[i]);
        void *ps[] = {L->attn_norm, L->ffn_norm, L->k_cache, L->v_cache};
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) lq_free_aligned(ps[i]);
    }
    free(m->layers);
    free(m);
}

const lq_llama_hparams *lq_llama_hparams_of(const lq_llama *m) { return &m->hp; }
bool lq_llama_tied(const lq_llama *m) { return m->tied; }
void lq_llama_set_max_ctx(lq_llama *m, int max_ctx) { m->max_ctx = max_ctx; }
void lq_llama_set_kv_type(lq_llama *m, llmq_kv_type t) {
    for (int l = 0; l < m->hp.n_layer; l++) {
        lq_free_aligned(m->layers[l].k_cache);
        lq_free_aligned(m->layers[l].v_cache);
        m->layers[l].k_cache = m->layers[l].v_cache = NULL;
    }
    m->kv_cap = m->kv_len = 0;
    m->kv_type = t;
}
void lq_llama_set_threads(lq_llama *m, int n_threads) {
    m->n_threads = n_threads > 0 ? n_threads : lq_n_cpus();
}
