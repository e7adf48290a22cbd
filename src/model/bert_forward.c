/* BERT forward pass: embeddings, n_layer post-LN encoder blocks, mean pooling
 * and L2 normalization, over activation buffers kept in the model. */
#include "model/bert_internal.h"

#include "model/bert_fast.h"
#include "model/bert_layers.h"
#include "model/layers.h"

#include <stdlib.h>
#include <string.h>

void lq_bert_acts_free(lq_bert_acts *a) {
    float *ps[] = {a->x, a->q, a->k, a->v, a->y, a->h, a->ff, a->xs, a->att};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) lq_free_aligned(ps[i]);
    free(a->tok);
    lq_i8_act_free(&a->qc);
    lq_i8_act_free(&a->qf);
    memset(a, 0, sizeof *a);
}

/* Makes room for B sequences of T tokens (sizes checked for overflow). */
static llmq_status acts_reserve(lq_bert_acts *a, const lq_bert_hparams *hp, int B, int T, lq_err *e) {
    size_t rows, att, bc, bf, ba;
    bool ok = lq_mul_ok((size_t)B, (size_t)T, &rows) && lq_mul_ok(rows, (size_t)hp->n_head, &att) &&
              lq_mul_ok(att, (size_t)T, &att) && lq_mul_ok(rows, (size_t)hp->n_embd * sizeof(float), &bc) &&
              lq_mul_ok(rows, (size_t)hp->n_ff * sizeof(float), &bf) && lq_mul_ok(att, sizeof(float), &ba);
    LQ_CHECK(ok, e, LLMQ_ERR_OVERFLOW, "batch of %d x %d tokens is too large", B, T);
    if (rows <= a->cap_rows && att <= a->cap_att) return LLMQ_OK;
    lq_bert_acts_free(a);
    float **cs[] = {&a->x, &a->q, &a->k, &a->v, &a->y, &a->h};
    bool got = true;
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) got = (*cs[i] = lq_alloc_aligned(bc)) && got;
    got = (a->ff = lq_alloc_aligned(bf)) && got;
    got = (a->xs = lq_alloc_aligned(bf)) && got;
    got = (a->att = lq_alloc_aligned(ba)) && got;
    got = (a->tok = malloc(rows * sizeof(int32_t))) && got;
    got = lq_i8_act_alloc(&a->qc, (int)rows, hp->n_embd) && got;
    got = lq_i8_act_alloc(&a->qf, (int)rows, hp->n_ff) && got;
    if (!got) {
        lq_bert_acts_free(a);
        return lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for activations of %d x %d tokens", B, T);
    }
    a->cap_rows = rows;
    a->cap_att = att;
    return LLMQ_OK;
}

/* Linear layer i of lq_bert_subs on x (N, IC) -> out (N, OC): float, or
 * INT8 (its input first multiplied by the SmoothQuant factors, if any). The
 * calibration hook sees the input first. false when out of memory. */
static bool linear(lq_bert *b, int l, int i, float *out, const float *x, const uint8_t *mask, int N, int IC,
                   int OC, int nt) {
    lq_bert_layer *L = &b->layers[l];
    const lq_bert_sub *s = &lq_bert_subs[i];
    const float *bias = *lq_bert_field(L, s->b);
    if (b->hook && i != 1 && i != 2) b->hook(b->hook_user, l, lq_bert_sub_input(i), x, mask, N, IC);
    lq_bert_q8 *q = L->q8[i];
    if (!q) {
        lq_linear_forward(out, x, *lq_bert_field(L, s->w), bias, N, IC, OC, nt);
        return true;
    }
    if (q->lin.outlier_threshold <= 0 && lq_bert_fast_ok()) {
        /* quantized here (SmoothQuant factors applied on the way) into buffers kept across calls */
        lq_i8_act *act = IC == b->acts.qc.cols ? &b->acts.qc : &b->acts.qf;
        act->rows = N;
        if (!(L->qkv_shared && (i == 1 || i == 2))) lq_bert_quant_avx512(act, N, x, q->in_mul, q->lin.act_scale);
        return lq_i8_gemm(out, act, q->lin.w, bias, nt);
    }
    if (q->in_mul) {
        float *xs = b->acts.xs;
        for (size_t r = 0; r < (size_t)N; r++)
            for (int c = 0; c < IC; c++) xs[r * IC + c] = x[r * IC + c] * q->in_mul[c];
        x = xs;
    }
    return lq_w8a8_forward(&q->lin, out, x, N, bias, nt);
}

/* One post-LN encoder block on x (N = B*T rows, C): x = LN1(x + attn(x)),
 * x = LN2(x + FFN(x)). mask (N) or NULL. */
static bool block_forward(lq_bert *b, int l, const uint8_t *mask, int B, int T, int nt) {
    const lq_bert_hparams *hp = &b->hp;
    const lq_bert_layer *L = &b->layers[l];
    const lq_bert_acts *a = &b->acts;
    int N = B * T, C = hp->n_embd, F = hp->n_ff, H = hp->n_head;
    bool ok = linear(b, l, 0, a->q, a->x, mask, N, C, C, nt) && // q (B, T, C)
              linear(b, l, 1, a->k, a->x, mask, N, C, C, nt) && linear(b, l, 2, a->v, a->x, mask, N, C, C, nt);
    if (!ok) return false;
    lq_bert_attention_forward(a->y, a->att, a->q, a->k, a->v, mask, B, T, H, C / H, nt);
    if (!linear(b, l, 3, a->h, a->y, mask, N, C, C, nt)) return false; // h (B, T, C)
    lq_bert_add_layernorm_forward(a->x, a->h, L->ln1_w, L->ln1_b, N, C, hp->ln_eps, nt);
    if (!linear(b, l, 5, a->ff, a->x, mask, N, C, F, nt)) return false; // ff (B, T, F)
    lq_gelu_forward(a->ff, (size_t)N * F, nt);
    if (!linear(b, l, 6, a->h, a->ff, mask, N, F, C, nt)) return false;
    lq_bert_add_layernorm_forward(a->x, a->h, L->ln2_w, L->ln2_b, N, C, hp->ln_eps, nt);
    return true;
}

llmq_status lq_bert_embed_batch(lq_bert *b, const int32_t *tokens, const uint8_t *mask, int B, int T,
                                float *out, int n_threads, lq_err *e) {
    LQ_CHECK(b && tokens && out, e, LLMQ_ERR_ARG, "lq_bert_embed: NULL argument");
    const lq_bert_hparams *hp = &b->hp;
    LQ_CHECK(B > 0 && T > 0, e, LLMQ_ERR_ARG, "nothing to embed (%d sequences of %d tokens)", B, T);
    LQ_CHECK(T <= hp->n_pos, e, LLMQ_ERR_ARG, "%d tokens exceed the %d positions of the model", T, hp->n_pos);
    LQ_TRY(acts_reserve(&b->acts, hp, B, T, e));
    int32_t *tok = b->acts.tok; // (B, T), padding -> id 0
    for (size_t i = 0; i < (size_t)B * T; i++) {
        bool real = !mask || mask[i];
        LQ_CHECK(!real || (tokens[i] >= 0 && tokens[i] < hp->n_vocab), e, LLMQ_ERR_ARG,
                 "token id %d (sequence %zu, position %zu) is outside the vocabulary of %d", tokens[i],
                 i / (size_t)T, i % (size_t)T, hp->n_vocab);
        tok[i] = real ? tokens[i] : 0;
    }
    int nt = n_threads > 0 ? n_threads : lq_n_cpus();
    int N = B * T, C = hp->n_embd;
    lq_bert_embeddings_forward(b->acts.x, tok, NULL, B, T, C, b->wte, b->wpe, b->wtt); // x (B, T, C)
    lq_layernorm_forward(b->acts.x, b->acts.x, b->ln_e_w, b->ln_e_b, N, C, hp->ln_eps, nt);
    for (int l = 0; l < hp->n_layer; l++)
        LQ_CHECK(block_forward(b, l, mask, B, T, nt), e, LLMQ_ERR_NOMEM, "out of memory in layer %d", l);
    lq_mean_pool_l2_forward(out, b->acts.x, mask, B, T, C); // out (B, C)
    return LLMQ_OK;
}

llmq_status lq_bert_embed(lq_bert *b, const int32_t *tokens, int n, float *out, int n_threads, lq_err *e) {
    LQ_CHECK(b, e, LLMQ_ERR_ARG, "lq_bert_embed: NULL model");
    LQ_CHECK(n > 0, e, LLMQ_ERR_ARG, "nothing to embed (%d tokens)", n);
    if (n > b->hp.n_pos) n = b->hp.n_pos;
    return lq_bert_embed_batch(b, tokens, NULL, 1, n, out, n_threads, e);
}
