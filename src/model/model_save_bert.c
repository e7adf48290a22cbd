/* Writing a BERT encoder as a GGUF file in llama.cpp's "bert" layout (the
 * key and tensor names convert_hf_to_gguf.py uses), F32 or quantized by rtn.
 * As llama-quantize does, the position and token-type embeddings stay F32;
 * biases and LayerNorms are vectors and stay F32 too. W8A8 (--scheme): as
 * PyTorch's quantize_dynamic, only the linear layers become INT8 (I8_CH),
 * followed by their static activation scale and SmoothQuant factors. */
#include "model/bert_w8a8.h"

#include "quant/types.h"

#include <stdio.h>
#include <string.h>

static llmq_status add_hparams(lq_gguf_writer *w, const llmq_model *m, const lq_bert_hparams *hp, uint32_t file_type) {
    LQ_TRY(lq_gguf_add_str(w, "general.architecture", "bert"));
    LQ_TRY(lq_gguf_add_str(w, "general.name", m->name ? m->name : "llmq"));
    LQ_TRY(lq_gguf_add_u32(w, "general.file_type", file_type)); /* llama_ftype */
    LQ_TRY(lq_gguf_add_u32(w, "bert.context_length", (uint32_t)hp->n_pos));
    LQ_TRY(lq_gguf_add_u32(w, "bert.embedding_length", (uint32_t)hp->n_embd));
    LQ_TRY(lq_gguf_add_u32(w, "bert.feed_forward_length", (uint32_t)hp->n_ff));
    LQ_TRY(lq_gguf_add_u32(w, "bert.block_count", (uint32_t)hp->n_layer));
    LQ_TRY(lq_gguf_add_u32(w, "bert.attention.head_count", (uint32_t)hp->n_head));
    LQ_TRY(lq_gguf_add_f32(w, "bert.attention.layer_norm_epsilon", hp->ln_eps));
    LQ_TRY(lq_gguf_add_bool(w, "bert.attention.causal", false));
    return lq_gguf_add_u32(w, "bert.pooling_type", 1); /* llama.cpp: MEAN, what lq_bert_embed does */
}

static llmq_status add_vector(lq_gguf_writer *w, const char *name, const float *v, int n, save_opts *o) {
    return lq_save_matrix(w, name, v, n, 1, o);
}

static llmq_status add_f32_matrix(lq_gguf_writer *w, const char *name, const float *v, int rows, int cols,
                                  save_opts *o) {
    o->keep_f32 = true;
    llmq_status st = lq_save_matrix(w, name, v, cols, rows, o);
    o->keep_f32 = false;
    return st;
}

/* A linear weight, then (W8A8) its input's static scale and SmoothQuant factors. */
static llmq_status add_linear(lq_gguf_writer *w, const char *name, const float *W, int out, int in, int l, int i,
                              const lq_bert_w8a8_plan *plan, save_opts *o) {
    LQ_TRY(lq_save_matrix(w, name, W, in, out, o));
    if (!plan) return LLMQ_OK;
    size_t at = (size_t)l * LQ_BERT_N_IN + (size_t)lq_bert_sub_input(i);
    char n[128];
    if (plan->act_scale[at] > 0) {
        snprintf(n, sizeof n, "%s.act_scale", name);
        LQ_TRY(add_vector(w, n, &plan->act_scale[at], 1, o));
    }
    if (plan->smooth_inv[at]) {
        snprintf(n, sizeof n, "%s.smooth_inv", name);
        LQ_TRY(add_vector(w, n, plan->smooth_inv[at], in, o));
    }
    return LLMQ_OK;
}

static llmq_status add_weights(lq_gguf_writer *w, const lq_bert *b, const lq_bert_w8a8_plan *plan, save_opts *o) {
    const lq_bert_hparams *hp = &b->hp;
    int C = hp->n_embd;
    o->total = 5 + 2 * LQ_BERT_N_SUB * hp->n_layer;
    for (size_t i = 0; plan && i < (size_t)hp->n_layer * LQ_BERT_N_IN; i++)
        o->total += (plan->act_scale[i] > 0 ? (i % LQ_BERT_N_IN ? 1 : 3) : 0) +
                    (plan->smooth_inv[i] ? (i % LQ_BERT_N_IN ? 1 : 3) : 0);
    /* W8A8 keeps the embeddings in float, as quantize_dynamic does */
    if (plan) LQ_TRY(add_f32_matrix(w, "token_embd.weight", b->wte, hp->n_vocab, C, o));
    else LQ_TRY(lq_save_matrix(w, "token_embd.weight", b->wte, C, hp->n_vocab, o));
    LQ_TRY(add_f32_matrix(w, "token_types.weight", b->wtt, hp->n_types, C, o));
    LQ_TRY(add_f32_matrix(w, "position_embd.weight", b->wpe, hp->n_pos, C, o));
    LQ_TRY(add_vector(w, "token_embd_norm.weight", b->ln_e_w, C, o));
    LQ_TRY(add_vector(w, "token_embd_norm.bias", b->ln_e_b, C, o));
    for (int l = 0; l < hp->n_layer; l++) {
        lq_bert_layer *L = &b->layers[l];
        for (int i = 0; i < LQ_BERT_N_SUB; i++) {
            const lq_bert_sub *s = &lq_bert_subs[i];
            int out = s->out == 'F' ? hp->n_ff : C, in = s->in == 'F' ? hp->n_ff : C;
            char n[96];
            snprintf(n, sizeof n, "blk.%d.%s.weight", l, s->gguf);
            if (s->in) LQ_TRY(add_linear(w, n, *lq_bert_field(L, s->w), out, in, l, i, plan, o));
            else LQ_TRY(add_vector(w, n, *lq_bert_field(L, s->w), out, o));
            snprintf(n, sizeof n, "blk.%d.%s.bias", l, s->gguf);
            LQ_TRY(add_vector(w, n, *lq_bert_field(L, s->b), out, o));
        }
    }
    return LLMQ_OK;
}

llmq_status lq_save_bert(const llmq_model *m, const char *path, save_opts *o) {
    lq_err *err = o->e;
    const lq_bert *b = m->bert;
    LQ_CHECK(m->tok && lq_tok_kind_of(m->tok) == LQ_TOK_WPM, err, LLMQ_ERR_UNSUPPORTED,
             "a bert model needs its WordPiece tokenizer to be written to GGUF");
    LQ_CHECK(!lq_bert_is_w8a8(b), err, LLMQ_ERR_UNSUPPORTED,
             "this model has INT8 (W8A8) layers and cannot be rewritten: start from the float model");
    lq_bert_w8a8_plan plan = {0};
    if (o->w8a8) {
        llmq_status st = lq_bert_w8a8_plan_make(m, o->w8a8, o->n_threads, &plan, err);
        if (st != LLMQ_OK) return lq_bert_w8a8_plan_free(&plan), st;
    }
    lq_gguf_writer *w = lq_gguf_writer_new(32);
    if (!w) lq_bert_w8a8_plan_free(&plan);
    LQ_CHECK(w, err, LLMQ_ERR_NOMEM, "out of memory");
    llmq_status st = add_hparams(w, m, &b->hp, o->file_type);
    if (st != LLMQ_OK) lq_fail(err, st, "cannot write metadata");
    if (st == LLMQ_OK) {
        if (m->gguf) { /* already in llama.cpp's form: copied as is */
            st = lq_save_gguf_tokenizer(w, m->gguf);
            if (st != LLMQ_OK) lq_fail(err, st, "cannot write the tokenizer metadata");
        } else {
            st = lq_wpm_to_gguf(m->tok, w, b->hp.n_types, err);
        }
    }
    if (st == LLMQ_OK) st = add_weights(w, o->w8a8 ? plan.b : b, o->w8a8 ? &plan : NULL, o);
    if (st == LLMQ_OK && (st = lq_save_provenance(w, o)) != LLMQ_OK) lq_fail(err, st, "cannot write metadata");
    if (st == LLMQ_OK) st = lq_gguf_write_file(w, path, err);
    lq_gguf_writer_free(w);
    lq_bert_w8a8_plan_free(&plan);
    return st;
}
