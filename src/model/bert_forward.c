/* BERT forward pass: embeddings, n_layer post-LN encoder blocks, mean pooling
 * and L2 normalization, over activation buffers kept in the model. */
#include "model/bert_internal.h"

#include "model/bert_layers.h"
#include "model/layers.h"

#include <stdlib.h>
#include <string.h>

void lq_bert_acts_free(lq_bert_acts *a) {
    float *ps[] = {a->x, a->q, a->k, a->v, a->y, a->h, a->ff, a->att};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) lq_free_aligned(ps[i]);
    free(a->tok);
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
    got = (a->att = lq_alloc_aligned(ba)) && got;
    got = (a->tok = malloc(rows * sizeof(int32_t))) && got;
    if (!got) {
        lq_bert_acts_free(a);
        return lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for activations of %d x %d tokens", B, T);
    }
    a->cap_rows = rows;
    a->cap_att = att;
    return LLMQ_OK;
}

/* One post-LN encoder block on x (N = B*T rows, C): x = LN1(x + attn(x)),
 * x = LN2(x + FFN(x)). */
static void block_forward(const lq_bert *b, const lq_bert_layer *L, const uint8_t *mask, int B, int T,
                          int nt) {
    const lq_bert_hparams *hp = &b->hp;
    const lq_bert_acts *a = &b->acts;
    int N = B * T, C = hp->n_embd, F = hp->n_ff, H = hp->n_head;
    size_t NC = (size_t)N * C;
    lq_linear_forward(a->q, a->x, L->wq, L->bq, N, C, C, nt); // q (B, T, C)
    lq_linear_forward(a->k, a->x, L->wk, L->bk, N, C, C, nt);
    lq_linear_forward(a->v, a->x, L->wv, L->bv, N, C, C, nt);
    lq_bert_attention_forward(a->y, a->att, a->q, a->k, a->v, mask, B, T, H, C / H, nt);
    lq_linear_forward(a->h, a->y, L->wo, L->bo, N, C, C, nt);  // h (B, T, C)
    lq_add_forward(a->h, a->x, NC);
    lq_layernorm_forward(a->x, a->h, L->ln1_w, L->ln1_b, N, C, hp->ln_eps, nt);
    lq_linear_forward(a->ff, a->x, L->w_ff1, L->b_ff1, N, C, F, nt); // ff (B, T, F)
    lq_gelu_forward(a->ff, (size_t)N * F, nt);
    lq_linear_forward(a->h, a->ff, L->w_ff2, L->b_ff2, N, F, C, nt);
    lq_add_forward(a->h, a->x, NC);
    lq_layernorm_forward(a->x, a->h, L->ln2_w, L->ln2_b, N, C, hp->ln_eps, nt);
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
    for (int l = 0; l < hp->n_layer; l++) block_forward(b, &b->layers[l], mask, B, T, nt);
    lq_mean_pool_l2_forward(out, b->acts.x, mask, B, T, C); // out (B, C)
    return LLMQ_OK;
}

llmq_status lq_bert_embed(lq_bert *b, const int32_t *tokens, int n, float *out, int n_threads, lq_err *e) {
    LQ_CHECK(b, e, LLMQ_ERR_ARG, "lq_bert_embed: NULL model");
    LQ_CHECK(n > 0, e, LLMQ_ERR_ARG, "nothing to embed (%d tokens)", n);
    if (n > b->hp.n_pos) n = b->hp.n_pos;
    return lq_bert_embed_batch(b, tokens, NULL, 1, n, out, n_threads, e);
}
