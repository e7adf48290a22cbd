/* Writing a decoder as an F32 GGUF file (llama architecture). */
#include "model/llama_internal.h"
#include "model/model_internal.h"

#include "quant/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static llmq_status add_hparams(lq_gguf_writer *w, const llmq_model *m) {
    const lq_llama_hparams *hp = &m->hp;
    LQ_TRY(lq_gguf_add_str(w, "general.architecture", "llama"));
    LQ_TRY(lq_gguf_add_str(w, "general.name", m->name ? m->name : "llmq"));
    LQ_TRY(lq_gguf_add_u32(w, "general.file_type", 0)); /* all F32 */
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

static llmq_status add_tokenizer(lq_gguf_writer *w, const llmq_model *m, lq_err *e) {
    if (m->gguf) {
        for (uint64_t i = 0; i < m->gguf->n_kv; i++) {
            const lq_gguf_kv *kv = &m->gguf->kv[i];
            if (kv->key.n > 10 && memcmp(kv->key.p, "tokenizer.", 10) == 0) LQ_TRY(lq_gguf_add_kv_copy(w, kv));
        }
        return LLMQ_OK;
    }
    LQ_CHECK(m->tok && m->l2c, e, LLMQ_ERR_UNSUPPORTED,
             "convert: only GGUF and llama2.c (with --tokenizer) tokenizers can be written to GGUF");
    LQ_CHECK(add_spm_vocab(w, m->tok) == LLMQ_OK, e, LLMQ_ERR_NOMEM, "convert: out of memory for the vocabulary");
    return LLMQ_OK;
}

static llmq_status add_f32(lq_gguf_writer *w, const char *name, const float *data, int64_t ne0, int64_t ne1) {
    int64_t ne[2] = {ne0, ne1};
    return lq_gguf_add_tensor(w, name, LQ_TYPE_F32, ne1 > 1 ? 2 : 1, ne, data, (size_t)(ne0 * ne1) * sizeof(float));
}

static llmq_status add_weights(lq_gguf_writer *w, const lq_llama *L) {
    const lq_llama_hparams *hp = &L->hp;
    int C = hp->n_embd, F = hp->n_ff, kvd = C / hp->n_head * hp->n_head_kv;
    LQ_TRY(add_f32(w, "token_embd.weight", L->tok_embd, C, hp->n_vocab));
    LQ_TRY(add_f32(w, "output_norm.weight", L->output_norm, C, 1));
    if (L->output != L->tok_embd) LQ_TRY(add_f32(w, "output.weight", L->output, C, hp->n_vocab));
    for (int l = 0; l < hp->n_layer; l++) {
        const lq_llama_layer *y = &L->layers[l];
        char n[64];
#define ADD(what, p, a, b) snprintf(n, sizeof n, "blk.%d." what ".weight", l); LQ_TRY(add_f32(w, n, p, a, b))
        ADD("attn_norm", y->attn_norm, C, 1);
        ADD("attn_q", y->wq, C, C);
        ADD("attn_k", y->wk, C, kvd);
        ADD("attn_v", y->wv, C, kvd);
        ADD("attn_output", y->wo, C, C);
        ADD("ffn_norm", y->ffn_norm, C, 1);
        ADD("ffn_gate", y->w_gate, C, F);
        ADD("ffn_up", y->w_up, C, F);
        ADD("ffn_down", y->w_down, F, C);
#undef ADD
    }
    return LLMQ_OK;
}

llmq_status llmq_model_save_gguf(const llmq_model *m, const char *path, llmq_error *err) {
    LQ_CHECK(m->llama, err, LLMQ_ERR_UNSUPPORTED, "convert: only decoder (llama) models can be written to GGUF");
    lq_gguf_writer *w = lq_gguf_writer_new(32);
    LQ_CHECK(w, err, LLMQ_ERR_NOMEM, "out of memory");
    llmq_status st = add_hparams(w, m);
    if (st == LLMQ_OK) st = add_tokenizer(w, m, err);
    else lq_fail(err, st, "convert: cannot write metadata");
    if (st == LLMQ_OK && (st = add_weights(w, m->llama)) != LLMQ_OK) lq_fail(err, st, "convert: cannot add weights");
    if (st == LLMQ_OK) st = lq_gguf_write_file(w, path, err);
    lq_gguf_writer_free(w);
    return st;
}
