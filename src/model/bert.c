/* BERT loading: hyper-parameters from config.json, weights bound by name,
 * shape-checked and converted to owned F32 buffers. */
#include "model/bert_internal.h"

#include "quant/types.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Integer key of the config: required keys absent -> MISSING; present but not
 * an integer in [1, max] -> FORMAT. def < 0 marks the key required. */
static llmq_status cfg_int(const cJSON *cfg, const char *key, int def, int max, int *out, lq_err *e) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!it) {
        LQ_CHECK(def >= 0, e, LLMQ_ERR_MISSING, "config.json: missing '%s'", key);
        *out = def;
        return LLMQ_OK;
    }
    double v = cJSON_IsNumber(it) ? it->valuedouble : NAN;
    LQ_CHECK(v >= 1 && v <= max && v == floor(v), e, LLMQ_ERR_FORMAT,
             "config.json: '%s' must be an integer in [1, %d]", key, max);
    *out = (int)v;
    return LLMQ_OK;
}

/* String key that must equal want when present (required: must be present). */
static llmq_status cfg_str_is(const cJSON *cfg, const char *key, const char *want, bool required,
                              lq_err *e) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!it && !required) return LLMQ_OK;
    LQ_CHECK(it, e, LLMQ_ERR_MISSING, "config.json: missing '%s'", key);
    LQ_CHECK(cJSON_IsString(it), e, LLMQ_ERR_FORMAT, "config.json: '%s' must be a string", key);
    LQ_CHECK(strcmp(it->valuestring, want) == 0, e, LLMQ_ERR_UNSUPPORTED,
             "config.json: %s '%.64s' is not supported (only '%s')", key, it->valuestring, want);
    return LLMQ_OK;
}

static llmq_status parse_hparams(const cJSON *cfg, lq_bert_hparams *hp, lq_err *e) {
    LQ_TRY(cfg_str_is(cfg, "model_type", "bert", true, e));
    /* "gelu" in transformers is the exact erf GELU; gelu_new etc. are not */
    LQ_TRY(cfg_str_is(cfg, "hidden_act", "gelu", false, e));
    LQ_TRY(cfg_str_is(cfg, "position_embedding_type", "absolute", false, e));
    LQ_TRY(cfg_int(cfg, "vocab_size", -1, 1 << 24, &hp->n_vocab, e));
    LQ_TRY(cfg_int(cfg, "hidden_size", -1, 1 << 16, &hp->n_embd, e));
    LQ_TRY(cfg_int(cfg, "num_hidden_layers", -1, 1024, &hp->n_layer, e));
    LQ_TRY(cfg_int(cfg, "num_attention_heads", -1, 1024, &hp->n_head, e));
    LQ_TRY(cfg_int(cfg, "intermediate_size", -1, 1 << 18, &hp->n_ff, e));
    LQ_TRY(cfg_int(cfg, "max_position_embeddings", -1, 1 << 16, &hp->n_pos, e));
    LQ_TRY(cfg_int(cfg, "type_vocab_size", 2, 1 << 10, &hp->n_types, e));
    hp->ln_eps = 1e-12f;
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(cfg, "layer_norm_eps");
    if (eps) {
        LQ_CHECK(cJSON_IsNumber(eps) && eps->valuedouble > 0 && eps->valuedouble < 1, e, LLMQ_ERR_FORMAT,
                 "config.json: 'layer_norm_eps' must be a number in (0, 1)");
        hp->ln_eps = (float)eps->valuedouble;
    }
    LQ_CHECK(hp->n_embd % hp->n_head == 0, e, LLMQ_ERR_SHAPE,
             "config.json: %d attention heads do not divide hidden_size %d", hp->n_head, hp->n_embd);
    return LLMQ_OK;
}

const lq_bert_sub lq_bert_subs[LQ_BERT_N_SUB] = {
#define LQ_SUB(hf, gguf, w, b, o, i) {hf, gguf, offsetof(lq_bert_layer, w), offsetof(lq_bert_layer, b), o, i}
    LQ_SUB("attention.self.query", "attn_q", wq, bq, 'C', 'C'),
    LQ_SUB("attention.self.key", "attn_k", wk, bk, 'C', 'C'),
    LQ_SUB("attention.self.value", "attn_v", wv, bv, 'C', 'C'),
    LQ_SUB("attention.output.dense", "attn_output", wo, bo, 'C', 'C'),
    LQ_SUB("attention.output.LayerNorm", "attn_output_norm", ln1_w, ln1_b, 'C', 0),
    LQ_SUB("intermediate.dense", "ffn_up", w_ff1, b_ff1, 'F', 'C'),
    LQ_SUB("output.dense", "ffn_down", w_ff2, b_ff2, 'C', 'F'),
    LQ_SUB("output.LayerNorm", "layer_output_norm", ln2_w, ln2_b, 'C', 0),
#undef LQ_SUB
};

/* Where the weights come from. */
typedef struct src {
    const lq_tensor *ts;
    size_t n;
    lq_bert_layout layout;
} src;

static const lq_tensor *find_exact(const src *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ts[i].name, name) == 0) return &s->ts[i];
    return NULL;
}

/* The tensor named name, or (HF) "bert." name (BertForXxx checkpoints). */
static const lq_tensor *find_weight(const src *s, const char *name) {
    const lq_tensor *t = find_exact(s, name);
    if (t || s->layout != LQ_BERT_HF) return t;
    char pre[160];
    snprintf(pre, sizeof pre, "bert.%s", name);
    return find_exact(s, pre);
}

/* Converts a (rows, cols) tensor of any dequantizable type row by row (the
 * dequantizers read unaligned F16/BF16/F32 data safely). */
static llmq_status to_f32(const lq_tensor *t, float *w, int rows, int cols, const char *name, lq_err *e) {
    const lq_type_traits *tr = lq_type_get(t->type);
    LQ_CHECK(tr && tr->to_float, e, LLMQ_ERR_UNSUPPORTED, "tensor '%s': type %s cannot be dequantized", name,
             lq_type_name(t->type));
    size_t rs = lq_row_size(t->type, cols), total;
    LQ_CHECK(rs && lq_mul_ok(rs, (size_t)rows, &total) && t->nbytes == total, e, LLMQ_ERR_SHAPE,
             "tensor '%s': %llu bytes do not match its shape", name, (unsigned long long)t->nbytes);
    for (int r = 0; r < rows; r++) tr->to_float((const uint8_t *)t->data + (size_t)r * rs, w + (size_t)r * cols, cols);
    return LLMQ_OK;
}

/* Binds name with PyTorch shape (rows, cols) (cols 0: a vector of rows
 * values) into a new aligned F32 buffer *out. */
static llmq_status bind(const src *s, const char *name, int rows, int cols, float **out, lq_err *e) {
    const lq_tensor *t = find_weight(s, name);
    LQ_CHECK(t, e, LLMQ_ERR_MISSING, "missing tensor '%s'", name);
    /* GGML order: ne[0] is the contiguous dimension, i.e. cols */
    bool ok = cols ? t->n_dims == 2 && t->ne[0] == cols && t->ne[1] == rows
                   : t->n_dims == 1 && t->ne[0] == rows;
    if (!ok) {
        char got[96];
        if (t->n_dims == 1) snprintf(got, sizeof got, "[%lld]", (long long)t->ne[0]);
        else snprintf(got, sizeof got, "[%lld, %lld]%s", (long long)t->ne[1], (long long)t->ne[0],
                      t->n_dims > 2 ? " + more dims" : "");
        if (cols) return lq_fail(e, LLMQ_ERR_SHAPE, "tensor '%s' has shape %s, expected [%d, %d]", name, got, rows, cols);
        return lq_fail(e, LLMQ_ERR_SHAPE, "tensor '%s' has shape %s, expected [%d]", name, got, rows);
    }
    size_t n, bytes;
    LQ_CHECK(lq_mul_ok((size_t)rows, cols ? (size_t)cols : 1, &n) && lq_mul_ok(n, sizeof(float), &bytes), e,
             LLMQ_ERR_OVERFLOW, "tensor '%s' is too large", name);
    float *w = lq_alloc_aligned(bytes);
    LQ_CHECK(w, e, LLMQ_ERR_NOMEM, "out of memory for '%s'", name);
    llmq_status st = cols ? to_f32(t, w, rows, cols, name, e) : to_f32(t, w, 1, rows, name, e);
    if (st != LLMQ_OK) {
        lq_free_aligned(w);
        return st;
    }
    *out = w;
    return LLMQ_OK;
}

/* Weight and bias of a linear layer (out x in) or a LayerNorm (in 0). */
static llmq_status bind_pair(const src *s, const char *prefix, int out_dim, int in_dim, float **w, float **b,
                             lq_err *e) {
    char name[160];
    snprintf(name, sizeof name, "%s.weight", prefix);
    LQ_TRY(bind(s, name, out_dim, in_dim, w, e));
    snprintf(name, sizeof name, "%s.bias", prefix);
    return bind(s, name, out_dim, 0, b, e);
}

static llmq_status bind_layer(const src *s, const lq_bert_hparams *hp, int l, lq_bert_layer *L, lq_err *e) {
    for (int i = 0; i < LQ_BERT_N_SUB; i++) {
        const lq_bert_sub *sub = &lq_bert_subs[i];
        char p[128];
        if (s->layout == LQ_BERT_HF) snprintf(p, sizeof p, "encoder.layer.%d.%s", l, sub->hf);
        else snprintf(p, sizeof p, "blk.%d.%s", l, sub->gguf);
        int out = sub->out == 'F' ? hp->n_ff : hp->n_embd;
        int in = sub->in == 'F' ? hp->n_ff : sub->in == 'C' ? hp->n_embd : 0;
        LQ_TRY(bind_pair(s, p, out, in, lq_bert_field(L, sub->w), lq_bert_field(L, sub->b), e));
    }
    return LLMQ_OK;
}

static llmq_status bind_all(const src *s, lq_bert *b, lq_err *e) {
    const lq_bert_hparams *hp = &b->hp;
    bool hf = s->layout == LQ_BERT_HF;
    LQ_TRY(bind(s, hf ? "embeddings.word_embeddings.weight" : "token_embd.weight", hp->n_vocab, hp->n_embd, &b->wte, e));
    LQ_TRY(bind(s, hf ? "embeddings.position_embeddings.weight" : "position_embd.weight", hp->n_pos, hp->n_embd,
                &b->wpe, e));
    LQ_TRY(bind(s, hf ? "embeddings.token_type_embeddings.weight" : "token_types.weight", hp->n_types, hp->n_embd,
                &b->wtt, e));
    LQ_TRY(bind_pair(s, hf ? "embeddings.LayerNorm" : "token_embd_norm", hp->n_embd, 0, &b->ln_e_w, &b->ln_e_b, e));
    for (int l = 0; l < hp->n_layer; l++) LQ_TRY(bind_layer(s, hp, l, &b->layers[l], e));
    return LLMQ_OK;
}

llmq_status lq_bert_load_tensors(const lq_bert_hparams *hp, const lq_tensor *tensors, size_t n,
                                 lq_bert_layout layout, lq_bert **out, lq_err *e) {
    LQ_CHECK(hp && out && (tensors || n == 0), e, LLMQ_ERR_ARG, "lq_bert_load_tensors: NULL argument");
    *out = NULL;
    LQ_CHECK(hp->n_vocab > 0 && hp->n_embd > 0 && hp->n_layer > 0 && hp->n_head > 0 && hp->n_ff > 0 &&
                 hp->n_pos > 0 && hp->n_types > 0,
             e, LLMQ_ERR_FORMAT, "BERT hyper-parameters must be positive");
    LQ_CHECK(hp->n_embd % hp->n_head == 0, e, LLMQ_ERR_SHAPE, "%d attention heads do not divide the width %d",
             hp->n_head, hp->n_embd);
    lq_bert *b = calloc(1, sizeof *b);
    LQ_CHECK(b, e, LLMQ_ERR_NOMEM, "out of memory");
    b->hp = *hp;
    b->layers = calloc((size_t)hp->n_layer, sizeof *b->layers);
    src s = {tensors, n, layout};
    llmq_status st = b->layers ? bind_all(&s, b, e) : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory");
    if (st != LLMQ_OK) {
        lq_bert_free(b);
        return st;
    }
    *out = b;
    return LLMQ_OK;
}

llmq_status lq_bert_load(const lq_hf_dir *d, lq_bert **out, lq_err *e) {
    LQ_CHECK(d && out, e, LLMQ_ERR_ARG, "lq_bert_load: NULL argument");
    *out = NULL;
    cJSON *cfg = cJSON_ParseWithLength(d->config_json, d->config_len);
    if (!cJSON_IsObject(cfg)) {
        cJSON_Delete(cfg);
        return lq_fail(e, LLMQ_ERR_JSON, "config.json: malformed JSON (or not an object)");
    }
    lq_bert_hparams hp;
    memset(&hp, 0, sizeof hp);
    llmq_status st = parse_hparams(cfg, &hp, e);
    cJSON_Delete(cfg);
    LQ_TRY(st);
    return lq_bert_load_tensors(&hp, d->tensors, (size_t)d->n_tensors, LQ_BERT_HF, out, e);
}

void lq_bert_free(lq_bert *b) {
    if (!b) return;
    float *top[] = {b->wte, b->wpe, b->wtt, b->ln_e_w, b->ln_e_b};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) lq_free_aligned(top[i]);
    for (int l = 0; b->layers && l < b->hp.n_layer; l++) {
        lq_bert_layer *L = &b->layers[l];
        float *ps[] = {L->wq, L->bq, L->wk, L->bk, L->wv, L->bv, L->wo, L->bo, L->ln1_w, L->ln1_b,
                       L->w_ff1, L->b_ff1, L->w_ff2, L->b_ff2, L->ln2_w, L->ln2_b};
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) lq_free_aligned(ps[i]);
        for (int i = 0; i < LQ_BERT_N_SUB; i++) {
            if (!L->q8[i]) continue;
            lq_w8a8_free(&L->q8[i]->lin);
            lq_free_aligned(L->q8[i]->in_mul);
            free(L->q8[i]);
        }
    }
    free(b->layers);
    lq_bert_acts_free(&b->acts);
    free(b);
}

const lq_bert_hparams *lq_bert_hparams_of(const lq_bert *b) { return &b->hp; }
