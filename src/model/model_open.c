/* Opening a model from each supported container. */
#include "model/bert_internal.h"
#include "model/model_internal.h"
#include "model/model_save_internal.h"

#include "quant/types.h"
#include "quant/types_llmq.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- GGUF ---- */

static llmq_status gguf_int(const lq_gguf *g, const char *arch, const char *key, bool required,
                            int64_t dflt, int *out, lq_err *e) {
    char full[160];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    int64_t v;
    if (!lq_gguf_get_i64(g, full, &v)) {
        LQ_CHECK(!required, e, LLMQ_ERR_MISSING, "missing metadata key '%s'", full);
        v = dflt;
    }
    LQ_CHECK(v >= 0 && v <= INT32_MAX, e, LLMQ_ERR_FORMAT, "metadata '%s' = %lld is out of range", full, (long long)v);
    *out = (int)v;
    return LLMQ_OK;
}

static float gguf_float(const lq_gguf *g, const char *arch, const char *key, float dflt) {
    char full[160];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    double v;
    return lq_gguf_get_f64(g, full, &v) ? (float)v : dflt;
}

static llmq_status gguf_tensors(llmq_model *m, lq_err *e) {
    const lq_gguf *g = m->gguf;
    m->own_tensors = lq_calloc_array(g->n_tensors ? g->n_tensors : 1, sizeof(lq_tensor));
    LQ_CHECK(m->own_tensors, e, LLMQ_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const lq_gguf_tensor *s = &g->tensors[i];
        lq_tensor *t = &m->own_tensors[i];
        t->name = lq_strndup(s->name.p, s->name.n);
        LQ_CHECK(t->name, e, LLMQ_ERR_NOMEM, "out of memory");
        t->type = s->type;
        t->n_dims = s->n_dims;
        memcpy(t->ne, s->ne, sizeof t->ne);
        t->data = s->data;
        t->nbytes = s->nbytes;
        m->n_tensors = i + 1;
    }
    m->tensors = m->own_tensors;
    /* INT3 units changed their bit layout (docs/FORMATS.md): files from
     * before hold I3_* tensors without the key and would decode wrongly */
    int64_t layout = 0;
    if (!lq_gguf_get_i64(g, LQ_KEY_INT3_LAYOUT, &layout)) layout = 1;
    for (size_t i = 0; i < m->n_tensors; i++) {
        int bits = 0, group;
        bool asym;
        if (lq_llmq_group_params(m->tensors[i].type, &bits, &group, &asym) && bits == 3)
            LQ_CHECK(layout == LQ_INT3_LAYOUT, e, LLMQ_ERR_UNSUPPORTED,
                     "tensor '%s' is %s in the INT3 bit layout %lld (this llmq reads layout %d): quantize the model again",
                     m->tensors[i].name, lq_type_name(m->tensors[i].type), (long long)layout, LQ_INT3_LAYOUT);
    }
    return LLMQ_OK;
}

/* llama.cpp's "bert" architecture: an encoder with mean pooling. */
static llmq_status gguf_bert(llmq_model *m, lq_err *e) {
    const lq_gguf *g = m->gguf;
    m->arch = LLMQ_ARCH_BERT;
    lq_bert_hparams hp;
    memset(&hp, 0, sizeof hp);
    LQ_TRY(gguf_int(g, "bert", "embedding_length", true, 0, &hp.n_embd, e));
    LQ_TRY(gguf_int(g, "bert", "block_count", true, 0, &hp.n_layer, e));
    LQ_TRY(gguf_int(g, "bert", "feed_forward_length", true, 0, &hp.n_ff, e));
    LQ_TRY(gguf_int(g, "bert", "attention.head_count", true, 0, &hp.n_head, e));
    LQ_TRY(gguf_int(g, "bert", "context_length", true, 0, &hp.n_pos, e));
    hp.ln_eps = gguf_float(g, "bert", "attention.layer_norm_epsilon", 1e-12f);
    LQ_CHECK(hp.ln_eps > 0 && hp.ln_eps < 1, e, LLMQ_ERR_FORMAT, "bert.attention.layer_norm_epsilon %g is not in (0, 1)",
             (double)hp.ln_eps);
    int64_t v;
    hp.n_types = 2;
    if (lq_gguf_get_i64(g, "tokenizer.ggml.token_type_count", &v)) {
        LQ_CHECK(v >= 1 && v <= 1024, e, LLMQ_ERR_FORMAT, "tokenizer.ggml.token_type_count %lld is out of range",
                 (long long)v);
        hp.n_types = (int)v;
    }
    /* the forward pass pools by the mean over tokens; llama.cpp: 1 = MEAN */
    LQ_CHECK(!lq_gguf_get_i64(g, "bert.pooling_type", &v) || v == 1, e, LLMQ_ERR_UNSUPPORTED,
             "bert.pooling_type %lld is not supported (only mean pooling, 1)", (long long)v);
    LQ_CHECK(!lq_gguf_get_i64(g, "bert.attention.causal", &v) || v == 0, e, LLMQ_ERR_UNSUPPORTED,
             "bert.attention.causal = true is not supported");
    LQ_TRY(lq_tok_from_gguf(g, &m->tok, e));
    LQ_CHECK(lq_tok_kind_of(m->tok) == LQ_TOK_WPM, e, LLMQ_ERR_UNSUPPORTED,
             "a bert model needs a WordPiece (tokenizer.ggml.model = \"bert\") vocabulary");
    hp.n_vocab = lq_tok_n_vocab(m->tok);
    LQ_TRY(lq_bert_load_tensors(&hp, m->tensors, m->n_tensors, LQ_BERT_GGUF, &m->bert, e));
    lq_str scheme;
    if (!lq_gguf_get_str(g, LQ_KEY_W8A8_SCHEME, &scheme)) return LLMQ_OK;
    /* W8A8: the I8_CH matrices stay INT8, activations are quantized at run time */
    double thr = 0;
    if (!lq_gguf_get_f64(g, LQ_KEY_W8A8_OUTLIER, &thr)) thr = 0;
    LQ_CHECK(thr >= 0 && thr < 1e30, e, LLMQ_ERR_FORMAT, "%s %g is not a threshold", LQ_KEY_W8A8_OUTLIER, thr);
    return lq_bert_attach_w8a8(m->bert, m->tensors, m->n_tensors, (float)thr, e);
}

llmq_status lq_model_open_gguf(llmq_model *m, const char *path, lq_err *e) {
    m->format = "gguf";
    LQ_TRY(lq_map_open(path, &m->map, e));
    LQ_TRY(lq_gguf_parse(m->map.data, m->map.len, &m->gguf, e));
    LQ_TRY(gguf_tensors(m, e));
    const lq_gguf *g = m->gguf;
    lq_str arch, name;
    LQ_CHECK(lq_gguf_get_str(g, "general.architecture", &arch), e, LLMQ_ERR_MISSING,
             "missing metadata key 'general.architecture'");
    if (lq_gguf_get_str(g, "general.name", &name)) m->name = lq_strndup(name.p, name.n);
    lq_str v;
    if (lq_gguf_get_str(g, "llmq.quantize.method", &v)) m->quant_method = lq_strndup(v.p, v.n);
    if (lq_gguf_get_str(g, "llmq.quantize.options", &v)) m->quant_options = lq_strndup(v.p, v.n);
    if (lq_gguf_get_str(g, "llmq.source.weights_fnv1a64", &v)) m->source_checksum = lq_strndup(v.p, v.n);
    char a[64];
    snprintf(a, sizeof a, "%.*s", (int)LQ_MIN(arch.n, 63), arch.p);
    if (strcmp(a, "bert") == 0) return gguf_bert(m, e);
    LQ_CHECK(strcmp(a, "llama") == 0, e, LLMQ_ERR_UNSUPPORTED, "unsupported architecture '%s'", a);
    lq_llama_hparams *hp = &m->hp;
    LQ_TRY(gguf_int(g, a, "embedding_length", true, 0, &hp->n_embd, e));
    LQ_TRY(gguf_int(g, a, "block_count", true, 0, &hp->n_layer, e));
    LQ_TRY(gguf_int(g, a, "feed_forward_length", true, 0, &hp->n_ff, e));
    LQ_TRY(gguf_int(g, a, "attention.head_count", true, 0, &hp->n_head, e));
    LQ_TRY(gguf_int(g, a, "attention.head_count_kv", false, hp->n_head, &hp->n_head_kv, e));
    LQ_TRY(gguf_int(g, a, "context_length", false, 2048, &hp->n_ctx_train, e));
    hp->norm_eps = gguf_float(g, a, "attention.layer_norm_rms_epsilon", 1e-5f);
    hp->rope_theta = gguf_float(g, a, "rope.freq_base", 10000.0f);
    LQ_TRY(lq_tok_from_gguf(g, &m->tok, e));
    hp->n_vocab = lq_tok_n_vocab(m->tok);
    m->arch = LLMQ_ARCH_LLAMA;
    LQ_TRY(lq_llama_load(hp, m->tensors, m->n_tensors, LQ_LAYOUT_GGUF, &m->map, &m->llama, e));
    if (!lq_gguf_get_str(g, LQ_KEY_W8A8_SCHEME, &v)) return LLMQ_OK;
    double thr = 0;
    const lq_gguf_kv *kv = lq_gguf_find(g, LQ_KEY_W8A8_OUTLIER);
    if (kv) LQ_CHECK(lq_gguf_get_f64(g, LQ_KEY_W8A8_OUTLIER, &thr) && thr >= 0 && thr < 1e30, e, LLMQ_ERR_FORMAT,
                     "bad %s", LQ_KEY_W8A8_OUTLIER);
    return lq_llama_enable_w8a8(m->llama, m->tensors, m->n_tensors, (float)thr, e);
}

/* ---- Hugging Face directory ---- */

static llmq_status json_int(const cJSON *cfg, const char *key, bool required, int dflt, int *out, lq_err *e) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!v || cJSON_IsNull(v)) {
        LQ_CHECK(!required, e, LLMQ_ERR_MISSING, "config.json: missing '%s'", key);
        *out = dflt;
        return LLMQ_OK;
    }
    LQ_CHECK(cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= INT32_MAX &&
                 v->valuedouble == (double)(int)v->valuedouble,
             e, LLMQ_ERR_FORMAT, "config.json: '%s' is not a valid integer", key);
    *out = (int)v->valuedouble;
    return LLMQ_OK;
}

static float json_float(const cJSON *cfg, const char *key, float dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    return cJSON_IsNumber(v) ? (float)v->valuedouble : dflt;
}

static llmq_status hf_llama_hparams(const cJSON *cfg, lq_llama_hparams *hp, lq_err *e) {
    LQ_TRY(json_int(cfg, "hidden_size", true, 0, &hp->n_embd, e));
    LQ_TRY(json_int(cfg, "intermediate_size", true, 0, &hp->n_ff, e));
    LQ_TRY(json_int(cfg, "num_hidden_layers", true, 0, &hp->n_layer, e));
    LQ_TRY(json_int(cfg, "num_attention_heads", true, 0, &hp->n_head, e));
    LQ_TRY(json_int(cfg, "num_key_value_heads", false, hp->n_head, &hp->n_head_kv, e));
    LQ_TRY(json_int(cfg, "vocab_size", true, 0, &hp->n_vocab, e));
    LQ_TRY(json_int(cfg, "max_position_embeddings", false, 2048, &hp->n_ctx_train, e));
    hp->norm_eps = json_float(cfg, "rms_norm_eps", 1e-6f);
    hp->rope_theta = json_float(cfg, "rope_theta", 10000.0f);
    return LLMQ_OK;
}

static llmq_status hf_tokenizer(llmq_model *m, const char *dir, lq_err *e) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    char *json;
    size_t len;
    LQ_TRY(llmq_read_file(path, &json, &len, e));
    llmq_status st = lq_tok_from_hf_json(json, len, &m->tok, e);
    free(json);
    return st;
}

llmq_status lq_model_open_hf(llmq_model *m, const char *dir, lq_err *e) {
    m->format = "safetensors";
    LQ_TRY(lq_hf_dir_open(dir, &m->hf, e));
    m->tensors = m->hf->tensors;
    m->n_tensors = m->hf->n_tensors;
    cJSON *cfg = cJSON_ParseWithLength(m->hf->config_json, m->hf->config_len);
    LQ_CHECK(cJSON_IsObject(cfg), e, LLMQ_ERR_JSON, "%s/config.json: malformed JSON", dir);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(cfg, "model_type");
    char type[64];
    snprintf(type, sizeof type, "%s", cJSON_IsString(mt) ? mt->valuestring : "(none)");
    llmq_status st = LLMQ_OK;
    if (strcmp(type, "llama") == 0) {
        m->arch = LLMQ_ARCH_LLAMA;
        st = hf_llama_hparams(cfg, &m->hp, e);
        /* HF's LlamaConfig unties the output by default: then lm_head must exist */
        bool tied = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "tie_word_embeddings"));
        if (st == LLMQ_OK && !tied && !lq_hf_dir_find(m->hf, "lm_head.weight"))
            st = lq_fail(e, LLMQ_ERR_MISSING, "missing tensor 'lm_head.weight' (config.json does not tie it to the embedding)");
    } else if (strcmp(type, "bert") == 0) {
        m->arch = LLMQ_ARCH_BERT;
    } else {
        st = lq_fail(e, LLMQ_ERR_UNSUPPORTED, "unsupported architecture '%s'", type);
    }
    cJSON_Delete(cfg);
    LQ_TRY(st);
    LQ_TRY(hf_tokenizer(m, dir, e));
    if (m->arch == LLMQ_ARCH_BERT) return lq_bert_load(m->hf, &m->bert, e);
    LQ_CHECK(lq_tok_n_vocab(m->tok) <= m->hp.n_vocab, e, LLMQ_ERR_SHAPE,
             "tokenizer has %d tokens but the model only %d", lq_tok_n_vocab(m->tok), m->hp.n_vocab);
    return lq_llama_load(&m->hp, m->tensors, m->n_tensors, LQ_LAYOUT_HF, NULL, &m->llama, e);
}

/* ---- llama2.c ---- */

llmq_status lq_model_open_llama2c(llmq_model *m, const char *path, const char *tok_path, lq_err *e) {
    m->format = "llama2c";
    m->arch = LLMQ_ARCH_LLAMA;
    LQ_TRY(lq_map_open(path, &m->map, e));
    LQ_TRY(lq_llama2c_parse(m->map.data, m->map.len, &m->l2c, e));
    const lq_llama2c *c = m->l2c;
    m->tensors = c->tensors;
    m->n_tensors = (size_t)c->n_tensors;
    lq_llama_hparams *hp = &m->hp;
    hp->n_vocab = c->vocab_size;
    hp->n_embd = c->dim;
    hp->n_layer = c->n_layers;
    hp->n_head = c->n_heads;
    hp->n_head_kv = c->n_kv_heads;
    hp->n_ff = c->hidden_dim;
    hp->n_ctx_train = c->seq_len;
    hp->norm_eps = 1e-5f;
    hp->rope_theta = 10000.0f;
    if (tok_path) {
        lq_mapfile tm;
        LQ_TRY(lq_map_open(tok_path, &tm, e));
        llmq_status st = lq_tok_from_llama2c(tm.data, tm.len, c->vocab_size, &m->tok, e);
        lq_map_close(&tm);
        LQ_TRY(st);
    }
    return lq_llama_load(hp, m->tensors, m->n_tensors, LQ_LAYOUT_GGUF, &m->map, &m->llama, e);
}
