/* The public model API: open/free, info, tokenizer access, decode, embed. */
#include "model/model_internal.h"

#include "quant/types.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

llmq_model_params llmq_model_default_params(void) {
    llmq_model_params p = {NULL, 0, 0, LLMQ_KV_F32};
    return p;
}

static bool has_gguf_magic(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    char magic[4] = {0};
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    return n == 4 && memcmp(magic, "GGUF", 4) == 0;
}

llmq_status llmq_model_open(const char *path, const llmq_model_params *params, llmq_model **out,
                            llmq_error *err) {
    llmq_model_params p = params ? *params : llmq_model_default_params();
    *out = NULL;
    LQ_CHECK(path && *path, err, LLMQ_ERR_ARG, "no model path given");
    LQ_CHECK(p.kv_type == LLMQ_KV_F32 || p.kv_type == LLMQ_KV_F16 || p.kv_type == LLMQ_KV_Q8, err, LLMQ_ERR_ARG,
             "unknown KV cache type %d", (int)p.kv_type);
    struct stat st;
    LQ_CHECK(stat(path, &st) == 0, err, LLMQ_ERR_IO, "%s: %s", path, strerror(errno));
    llmq_model *m = calloc(1, sizeof *m);
    LQ_CHECK(m, err, LLMQ_ERR_NOMEM, "out of memory");
    m->n_threads = p.n_threads > 0 ? p.n_threads : lq_n_cpus();
    llmq_status s;
    if (S_ISDIR(st.st_mode)) s = lq_model_open_hf(m, path, err);
    else if (has_gguf_magic(path)) s = lq_model_open_gguf(m, path, err);
    else s = lq_model_open_llama2c(m, path, p.tokenizer_path, err);
    if (s == LLMQ_OK && p.tokenizer_path && m->l2c == NULL)
        s = lq_fail(err, LLMQ_ERR_ARG, "--tokenizer applies to llama2.c checkpoints only");
    if (s != LLMQ_OK) {
        llmq_model_free(m);
        return s;
    }
    if (m->llama) {
        lq_llama_set_threads(m->llama, m->n_threads);
        lq_llama_set_max_ctx(m->llama, p.max_ctx);
        lq_llama_set_kv_type(m->llama, p.kv_type);
    }
    *out = m;
    return LLMQ_OK;
}

void llmq_model_free(llmq_model *m) {
    if (!m) return;
    lq_llama_free(m->llama);
    lq_bert_free(m->bert);
    lq_tok_free(m->tok);
    for (size_t i = 0; m->own_tensors && i < m->n_tensors; i++) free((char *)m->own_tensors[i].name);
    free(m->own_tensors);
    lq_gguf_free(m->gguf);
    lq_hf_dir_free(m->hf);
    lq_llama2c_free(m->l2c);
    lq_map_close(&m->map);
    free(m->name);
    free(m->quant_method);
    free(m->quant_options);
    free(m->source_checksum);
    free(m);
}

void llmq_model_get_info(const llmq_model *m, llmq_model_info *info) {
    memset(info, 0, sizeof *info);
    info->arch = m->arch;
    info->arch_name = m->arch == LLMQ_ARCH_BERT ? "bert" : "llama";
    info->format = m->format;
    info->name = m->name ? m->name : "";
    info->quant_method = m->quant_method ? m->quant_method : "";
    info->quant_options = m->quant_options ? m->quant_options : "";
    info->source_checksum = m->source_checksum ? m->source_checksum : "";
    if (m->bert) {
        const lq_bert_hparams *b = lq_bert_hparams_of(m->bert);
        info->n_vocab = b->n_vocab;
        info->n_embd = b->n_embd;
        info->n_layer = b->n_layer;
        info->n_head = info->n_head_kv = b->n_head;
        info->n_ff = b->n_ff;
        info->n_ctx_train = b->n_pos;
        info->norm_eps = b->ln_eps;
    } else {
        const lq_llama_hparams *h = &m->hp;
        info->n_vocab = h->n_vocab;
        info->n_embd = h->n_embd;
        info->n_layer = h->n_layer;
        info->n_head = h->n_head;
        info->n_head_kv = h->n_head_kv;
        info->n_ff = h->n_ff;
        info->n_ctx_train = h->n_ctx_train;
        info->norm_eps = h->norm_eps;
        info->rope_theta = h->rope_theta;
        info->tied_output = m->llama && lq_llama_tied(m->llama);
    }
    info->n_tensors = (int)m->n_tensors;
    for (size_t i = 0; i < m->n_tensors; i++) {
        info->n_params += (uint64_t)lq_tensor_nelem(&m->tensors[i]);
        info->n_bytes += m->tensors[i].nbytes;
    }
}

llmq_status llmq_model_tensor_info(const llmq_model *m, int i, llmq_tensor_info *out) {
    if (i < 0 || (size_t)i >= m->n_tensors) return LLMQ_ERR_ARG;
    const lq_tensor *t = &m->tensors[i];
    out->name = t->name;
    out->type = lq_type_name(t->type);
    out->n_dims = (int)t->n_dims;
    for (int d = 0; d < 4; d++) out->shape[d] = t->ne[d];
    out->n_elements = (uint64_t)lq_tensor_nelem(t);
    out->n_bytes = t->nbytes;
    return LLMQ_OK;
}

void llmq_model_set_threads(llmq_model *m, int n_threads) {
    m->n_threads = n_threads > 0 ? n_threads : lq_n_cpus();
    if (m->llama) lq_llama_set_threads(m->llama, m->n_threads);
}

llmq_status llmq_tokenize(const llmq_model *m, const char *text, size_t len, int add_special, int32_t *tokens,
                          size_t max, size_t *n_out) {
    *n_out = 0;
    if (!m->tok) return LLMQ_ERR_MISSING;
    int32_t *ids = NULL;
    size_t n = 0;
    llmq_status st = lq_tok_encode(m->tok, text, len, add_special != 0, &ids, &n, NULL);
    if (st != LLMQ_OK) return st;
    *n_out = n;
    if (tokens) memcpy(tokens, ids, LQ_MIN(n, max) * sizeof(int32_t));
    free(ids);
    return n <= max || !tokens ? LLMQ_OK : LLMQ_ERR_BOUNDS;
}

size_t llmq_token_to_piece(const llmq_model *m, int32_t prev, int32_t token, char *buf, size_t cap) {
    return m->tok ? lq_tok_piece(m->tok, prev, token, buf, cap) : 0;
}

int32_t llmq_token_bos(const llmq_model *m) { return m->tok ? lq_tok_bos(m->tok) : -1; }
int32_t llmq_token_eos(const llmq_model *m) { return m->tok ? lq_tok_eos(m->tok) : -1; }
int llmq_n_vocab(const llmq_model *m) { return m->bert ? lq_bert_hparams_of(m->bert)->n_vocab : m->hp.n_vocab; }

llmq_status llmq_decode(llmq_model *m, const int32_t *tokens, int n, int pos, float *logits, int n_logits,
                        llmq_error *err) {
    LQ_CHECK(m->llama, err, LLMQ_ERR_UNSUPPORTED, "this model is an encoder: it cannot generate");
    return lq_llama_decode(m->llama, tokens, n, pos, logits, n_logits, err);
}

llmq_status llmq_embed(llmq_model *m, const char *text, size_t len, float *out, llmq_error *err) {
    LQ_CHECK(m->bert, err, LLMQ_ERR_UNSUPPORTED, "this model is a decoder: use an encoder (BERT) for embeddings");
    int32_t *ids = NULL;
    size_t n = 0;
    LQ_TRY(lq_tok_encode(m->tok, text, len, true, &ids, &n, err));
    llmq_status st = lq_bert_embed(m->bert, ids, (int)n, out, m->n_threads, err);
    free(ids);
    return st;
}

llmq_status llmq_read_file(const char *path, char **data, size_t *len, llmq_error *err) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    LQ_CHECK(f, err, LLMQ_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap) break;
        char *nb = cap < ((size_t)1 << 40) ? realloc(buf, cap * 2 + 1) : NULL;
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    LQ_CHECK(buf, err, LLMQ_ERR_NOMEM, "%s: out of memory", path);
    if (bad) {
        free(buf);
        return lq_fail(err, LLMQ_ERR_IO, "%s: read error", path);
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return LLMQ_OK;
}
