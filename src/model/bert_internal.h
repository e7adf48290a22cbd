/* The BERT model struct shared by the loader (bert.c) and the forward pass
 * (bert_forward.c). All weights are owned, 64-byte aligned F32 buffers in
 * PyTorch layout: a linear weight is (out, in) row-major. */
#ifndef LQ_BERT_INTERNAL_H
#define LQ_BERT_INTERNAL_H

#include "model/bert.h"

typedef struct lq_bert_layer {
    float *wq, *bq, *wk, *bk, *wv, *bv; // (C, C), (C)
    float *wo, *bo;                     // attention output (C, C), (C)
    float *ln1_w, *ln1_b;               // (C)
    float *w_ff1, *b_ff1;               // intermediate (F, C), (F)
    float *w_ff2, *b_ff2;               // output (C, F), (C)
    float *ln2_w, *ln2_b;               // (C)
} lq_bert_layer;

/* Activations of one forward pass, grown on demand; rows = B*T. */
typedef struct lq_bert_acts {
    size_t cap_rows, cap_att;
    float *x;              // residual stream (B, T, C)
    float *q, *k, *v;      // (B, T, C)
    float *y;              // attention output before the projection (B, T, C)
    float *h;              // sub-layer output + residual (B, T, C)
    float *ff;             // FFN hidden (B, T, F)
    float *att;            // attention probabilities (B, H, T, T)
    int32_t *tok;          // token ids with padding replaced by 0 (B, T)
} lq_bert_acts;

struct lq_bert {
    lq_bert_hparams hp;
    float *wte, *wpe, *wtt;   // (V, C), (P, C), (K, C)
    float *ln_e_w, *ln_e_b;   // (C)
    lq_bert_layer *layers;    // n_layer
    lq_bert_acts acts;
};

void lq_bert_acts_free(lq_bert_acts *a);

/* The weight/bias pairs of one layer under both naming schemes; out and in
 * are 'C' (n_embd) or 'F' (n_ff), in 0 for a LayerNorm (vectors only). The
 * loader and the GGUF writer walk this one table. */
typedef struct lq_bert_sub {
    const char *hf;   /* after "encoder.layer.N." */
    const char *gguf; /* after "blk.N." */
    size_t w, b;      /* offsetof in lq_bert_layer */
    char out, in;
} lq_bert_sub;

enum { LQ_BERT_N_SUB = 8 };
extern const lq_bert_sub lq_bert_subs[LQ_BERT_N_SUB];

static inline float **lq_bert_field(lq_bert_layer *L, size_t off) { return (float **)((char *)L + off); }

#endif
