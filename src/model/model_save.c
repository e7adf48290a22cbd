/* Writing a model as a GGUF file, F32 or quantized by rtn: decoders in the
 * llama architecture here, encoders in model_save_bert.c. */
#include "model/llama_internal.h"
#include "model/model_internal.h"
#include "model/model_save_internal.h"

#include "algo/presets.h"
#include "algo/observer.h"
#include "algo/rtn.h"
#include "algo/type_rules.h"
#include "quant/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static llmq_status add_hparams(lq_gguf_writer *w, const llmq_model *m, uint32_t file_type) {
    const lq_llama_hparams *hp = &m->hp;
    LQ_TRY(lq_gguf_add_str(w, "general.architecture", "llama"));
    LQ_TRY(lq_gguf_add_str(w, "general.name", m->name ? m->name : "llmq"));
    LQ_TRY(lq_gguf_add_u32(w, "general.file_type", file_type)); /* llama_ftype */
    LQ_TRY(lq_gguf_add_u32(w, "llama.context_length", (uint32_t)hp->n_ctx_train));
    LQ_TRY(lq_gguf_add_u32(w, "llama.embedding_length", (uint32_t)hp->n_embd));
    LQ_TRY(lq_gguf_add_u32(w, "llama.block_count", (uint32_t)hp->n_layer));
    LQ_TRY(lq_gguf_add_u32(w, "llama.feed_forward_length", (uint32_t)hp->n_ff));
    LQ_TRY(lq_gguf_add_u32(w, "llama.attention.head_count", (uint32_t)hp->n_head));
    LQ_TRY(lq_gguf_add_u32(w, "llama.attention.head_count_kv", (uint32_t)hp->n_head_kv));
    LQ_TRY(lq_gguf_add_u32(w, "llama.rope.dimension_count", (uint32_t)(hp->n_embd / hp->n_head)));
    LQ_TRY(lq_gguf_add_u32(w, "llama.vocab_size", (uint32_t)hp->n_vocab));
    LQ_TRY(lq_gguf_add_f32(w, "llama.attention.layer_norm_rms_epsilon", hp->norm_eps));
    LQ_TRY(lq_gguf_add_f32(w, "llama.rope.freq_base", hp->rope_theta));
    return LLMQ_OK;
}

/* llama2.c vocabularies store SentencePiece pieces with U+2581 turned into
 * ' '; GGUF "llama" vocabularies keep U+2581. Token types follow llama.cpp:
 * 1 normal, 2 unknown, 3 control, 6 byte. */
static llmq_status add_spm_vocab(lq_gguf_writer *w, const lq_tokenizer *t) {
    int n = lq_tok_n_vocab(t);
    char **strs = calloc((size_t)n, sizeof *strs);
    size_t *lens = calloc((size_t)n, sizeof *lens);
    float *scores = calloc((size_t)n, sizeof *scores);
    int32_t *types = calloc((size_t)n, sizeof *types);
    llmq_status st = strs && lens && scores && types ? LLMQ_OK : LLMQ_ERR_NOMEM;
    for (int i = 0; st == LLMQ_OK && i < n; i++) {
        size_t len = 0, o = 0;
        const char *s = lq_tok_text(t, i, &len);
        char *d = malloc(len * 3 + 1);
        if (!d) { st = LLMQ_ERR_NOMEM; break; }
        for (size_t k = 0; k < len; k++) {
            if (s[k] == ' ') { memcpy(d + o, "\xe2\x96\x81", 3); o += 3; }
            else d[o++] = s[k];
        }
        strs[i] = d;
        lens[i] = o;
        scores[i] = lq_tok_score(t, i);
        bool byte = len == 6 && s[0] == '<' && s[1] == '0' && s[2] == 'x' && s[5] == '>';
        types[i] = i == 0 ? 2 : (i == lq_tok_bos(t) || i == lq_tok_eos(t)) ? 3 : byte ? 6 : 1;
    }
    if (st == LLMQ_OK) st = lq_gguf_add_str(w, "tokenizer.ggml.model", "llama");
    if (st == LLMQ_OK) st = lq_gguf_add_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)strs, lens, (uint64_t)n);
    if (st == LLMQ_OK) st = lq_gguf_add_arr(w, "tokenizer.ggml.scores", LQ_GGUF_FLOAT32, scores, (uint64_t)n);
    if (st == LLMQ_OK) st = lq_gguf_add_arr(w, "tokenizer.ggml.token_type", LQ_GGUF_INT32, types, (uint64_t)n);
    if (st == LLMQ_OK) st = lq_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)lq_tok_bos(t));
    if (st == LLMQ_OK) st = lq_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)lq_tok_eos(t));
    if (st == LLMQ_OK) st = lq_gguf_add_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    if (st == LLMQ_OK) st = lq_gguf_add_bool(w, "tokenizer.ggml.add_bos_token", true);
    if (st == LLMQ_OK) st = lq_gguf_add_bool(w, "tokenizer.ggml.add_space_prefix", true);
    for (int i = 0; strs && i < n; i++) free(strs[i]);
    free(strs);
    free(lens);
    free(scores);
    free(types);
    return st;
}

/* Copies every tokenizer.* key of a GGUF source. */
llmq_status lq_save_gguf_tokenizer(lq_gguf_writer *w, const lq_gguf *g) {
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const lq_gguf_kv *kv = &g->kv[i];
        if (kv->key.n > 10 && memcmp(kv->key.p, "tokenizer.", 10) == 0) LQ_TRY(lq_gguf_add_kv_copy(w, kv));
    }
    return LLMQ_OK;
}

static llmq_status add_tokenizer(lq_gguf_writer *w, const llmq_model *m, lq_err *e) {
    if (m->gguf) return lq_save_gguf_tokenizer(w, m->gguf);
    LQ_CHECK(m->tok && m->l2c, e, LLMQ_ERR_UNSUPPORTED,
             "only GGUF and llama2.c (with --tokenizer) tokenizers can be written to GGUF");
    LQ_CHECK(add_spm_vocab(w, m->tok) == LLMQ_OK, e, LLMQ_ERR_NOMEM, "out of memory for the vocabulary");
    return LLMQ_OK;
}

void lq_save_hash(save_opts *o, const void *p, size_t n) {
    uint64_t h = o->fnv;
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    o->fnv = h;
}

uint32_t lq_save_pick_type(save_opts *o, const char *name, int64_t ne0, int64_t ne1) {
    if (ne1 <= 1 || o->keep_f32) return LQ_TYPE_F32;
    /* a matching --tensor-type rule wins and, as in llama-quantize, the mix
     * then does not see the tensor (its layer counters do not advance) */
    uint32_t want = lq_type_rules_pick(o->rules, name, UINT32_MAX);
    if (want == UINT32_MAX) want = o->preset ? lq_preset_pick(o->preset, name, ne0) : o->type;
    return lq_rtn_type_for_row(want, ne0);
}

llmq_status lq_save_add(lq_gguf_writer *w, const char *name, uint32_t type, const void *bytes, int64_t ne0,
                        int64_t ne1, const double *err, save_opts *o) {
    int64_t ne[2] = {ne0, ne1};
    size_t size = lq_row_size(type, ne0) * (size_t)ne1;
    llmq_status st = lq_gguf_add_tensor(w, name, type, ne1 > 1 ? 2 : 1, ne, bytes, size);
    if (st != LLMQ_OK) return lq_fail(o->e, st, "cannot add tensor %s", name);
    if (ne1 > 1 && o->tensor_done) o->tensor_done(o->user, name, lq_type_name(type), err ? *err : -1);
    if (o->progress) o->progress(o->user, ++o->done, o->total, name);
    return LLMQ_OK;
}

llmq_status lq_save_matrix(lq_gguf_writer *w, const char *name, const float *data, int64_t ne0, int64_t ne1,
                           save_opts *o) {
    uint32_t type = lq_save_pick_type(o, name, ne0, ne1);
    size_t bytes = lq_row_size(type, ne0) * (size_t)ne1;
    lq_save_hash(o, data, (size_t)(ne0 * ne1) * sizeof(float));
    LQ_CHECK(bytes, o->e, LLMQ_ERR_SHAPE, "%s: rows of %lld values do not fit %s blocks", name, (long long)ne0,
             lq_type_name(type));
    if (type == LQ_TYPE_F32) return lq_save_add(w, name, type, data, ne0, ne1, NULL, o);
    void *q = malloc(bytes);
    LQ_CHECK(q, o->e, LLMQ_ERR_NOMEM, "out of memory quantizing %s", name);
    const float *imp = o->imp ? o->imp(o->imp_user, name, ne0) : NULL;
    lq_wstats ws = {imp, NULL};
    bool fell_back = false;
    llmq_status st = lq_wmethod_quantize(o->qmethod, NULL, data, ne1, ne0, type, &ws, q, o->n_threads, &fell_back, o->e);
    o->n_fallback += fell_back;
    double err = lq_wmethod_rel_error(data, ne1, ne0, type, q, imp);
    if (st == LLMQ_OK) st = lq_save_add(w, name, type, q, ne0, ne1, &err, o);
    free(q);
    return st;
}

/* A weight matrix as floats: quantized sources are dequantized first. */
llmq_status lq_save_qweight(lq_gguf_writer *w, const char *name, const lq_qweight *q, save_opts *o) {
    float *f = lq_qweight_f32(q);
    if (f) return lq_save_matrix(w, name, f, q->cols, q->rows, o);
    f = lq_alloc_aligned((size_t)q->rows * q->cols * sizeof(float));
    LQ_CHECK(f, o->e, LLMQ_ERR_NOMEM, "out of memory dequantizing %s", name);
    for (int r = 0; r < q->rows; r++) lq_qweight_row(q, r, f + (size_t)r * q->cols);
    llmq_status st = lq_save_matrix(w, name, f, q->cols, q->rows, o);
    lq_free_aligned(f);
    return st;
}

static llmq_status add_weights(lq_gguf_writer *w, const lq_llama *L, save_opts *o) {
    const lq_llama_hparams *hp = &L->hp;
    int C = hp->n_embd;
    o->total = 2 + !L->tied + 9 * hp->n_layer;
    LQ_TRY(lq_save_qweight(w, "token_embd.weight", &L->tok_embd, o));
    LQ_TRY(lq_save_matrix(w, "output_norm.weight", L->output_norm, C, 1, o));
    if (!L->tied) LQ_TRY(lq_save_qweight(w, "output.weight", &L->output, o));
    for (int l = 0; l < hp->n_layer; l++) {
        const lq_llama_layer *y = &L->layers[l];
        char n[64];
#define NAME(what) snprintf(n, sizeof n, "blk.%d." what ".weight", l)
#define ADD(what, q) NAME(what); LQ_TRY(lq_save_qweight(w, n, &q, o))
        NAME("attn_norm");
        LQ_TRY(lq_save_matrix(w, n, y->attn_norm, C, 1, o));
        ADD("attn_q", y->wq);
        ADD("attn_k", y->wk);
        ADD("attn_v", y->wv);
        ADD("attn_output", y->wo);
        NAME("ffn_norm");
        LQ_TRY(lq_save_matrix(w, n, y->ffn_norm, C, 1, o));
        ADD("ffn_gate", y->w_gate);
        ADD("ffn_up", y->w_up);
        ADD("ffn_down", y->w_down);
#undef ADD
#undef NAME
    }
    return LLMQ_OK;
}

/* Metadata recording how the file was made. */
llmq_status lq_save_provenance(lq_gguf_writer *w, const save_opts *o) {
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)o->fnv);
    LQ_TRY(lq_gguf_add_str(w, "llmq.quantize.method", o->type == LQ_TYPE_F32 ? "none" : o->method ? o->method : "rtn"));
    if (o->options) LQ_TRY(lq_gguf_add_str(w, "llmq.quantize.options", o->options));
    LQ_TRY(lq_gguf_add_str(w, "llmq.quantize.type", lq_type_name(o->type)));
    LQ_TRY(lq_gguf_add_u32(w, LQ_KEY_INT3_LAYOUT, LQ_INT3_LAYOUT));
    if (o->w8a8) {
        const lq_w8a8_opts *q = o->w8a8;
        LQ_TRY(lq_gguf_add_str(w, LQ_KEY_W8A8_SCHEME, q->dynamic ? "dynamic-int8" : "static-int8"));
        if (!q->dynamic) LQ_TRY(lq_gguf_add_str(w, LQ_KEY_W8A8_OBSERVER, lq_observer_name(q->observer)));
        LQ_TRY(lq_gguf_add_f32(w, LQ_KEY_W8A8_SMOOTH, q->smooth_alpha));
        LQ_TRY(lq_gguf_add_f32(w, LQ_KEY_W8A8_OUTLIER, q->outlier_threshold));
    }
    return lq_gguf_add_str(w, "llmq.source.weights_fnv1a64", hex);
}

llmq_status lq_save_model(llmq_model *m, const char *path, save_opts *o) {
    lq_err *err = o->e;
    if (m->bert) return lq_save_bert(m, path, o);
    LQ_CHECK(m->llama, err, LLMQ_ERR_UNSUPPORTED, "only llama and bert models can be written to GGUF");
    lq_gguf_writer *w = lq_gguf_writer_new(32);
    LQ_CHECK(w, err, LLMQ_ERR_NOMEM, "out of memory");
    lq_gguf_writer_spill(w); /* when no temporary file can be made, tensors stay in memory */
    llmq_status st = add_hparams(w, m, o->file_type);
    if (st != LLMQ_OK) lq_fail(err, st, "cannot write metadata");
    if (st == LLMQ_OK) st = add_tokenizer(w, m, err);
    if (st == LLMQ_OK) st = o->add_weights ? o->add_weights(w, m, o->add_weights_ctx, o) : add_weights(w, m->llama, o);
    if (st == LLMQ_OK && (st = lq_save_provenance(w, o)) != LLMQ_OK) lq_fail(err, st, "cannot write metadata");
    if (st == LLMQ_OK) st = lq_gguf_write_file(w, path, err);
    lq_gguf_writer_free(w);
    return st;
}

llmq_status llmq_model_save_gguf(const llmq_model *m, const char *path, llmq_error *err) {
    save_opts o = {.type = LQ_TYPE_F32, .n_threads = m->n_threads, .fnv = LQ_FNV_OFFSET, .e = err};
    return lq_save_model((llmq_model *)m, path, &o); /* F32 only reads m */
}

