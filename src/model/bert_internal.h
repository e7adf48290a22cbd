/* The BERT model struct shared by the loader (bert.c) and the forward pass
 * (bert_forward.c). All weights are owned, 64-byte aligned F32 buffers in
 * PyTorch layout: a linear weight is (out, in) row-major. */
#ifndef LQ_BERT_INTERNAL_H
#define LQ_BERT_INTERNAL_H

#include "kernels/w8a8.h"
#include "model/bert.h"

enum { LQ_BERT_N_SUB = 8 };

/* A linear layer kept in INT8 (W8A8 files): the weights packed for the i8mm
 * kernels, and for SmoothQuant the per-input-channel factor 1/s the input
 * is multiplied by before it is quantized (NULL when not smoothed there). */
typedef struct lq_bert_q8 {
    lq_w8a8 lin;
    float *in_mul;
} lq_bert_q8;

/* The inputs of a layer's linear layers (q, k and v read the same one). */
enum { LQ_BERT_IN_QKV, LQ_BERT_IN_ATTN_OUT, LQ_BERT_IN_FFN_UP, LQ_BERT_IN_FFN_DOWN, LQ_BERT_N_IN };

/* Input point of sub-layer i of lq_bert_subs, -1 for a LayerNorm. */
int lq_bert_sub_input(int i);

/* Called at each linear layer's input during a forward pass (calibration):
 * x holds rows = B*T rows of cols values, mask (rows) 1 for a real token
 * (NULL: all real). */
typedef void (*lq_bert_hook_fn)(void *user, int layer, int point, const float *x, const uint8_t *mask, int rows,
                                int cols);

typedef struct lq_bert_layer {
    float *wq, *bq, *wk, *bk, *wv, *bv; // (C, C), (C)
    float *wo, *bo;                     // attention output (C, C), (C)
    float *ln1_w, *ln1_b;               // (C)
    float *w_ff1, *b_ff1;               // intermediate (F, C), (F)
    float *w_ff2, *b_ff2;               // output (C, F), (C)
    float *ln2_w, *ln2_b;               // (C)
    lq_bert_q8 *q8[LQ_BERT_N_SUB];      // W8A8: by lq_bert_subs index (the F32 weight is then NULL)
    bool qkv_shared;                    // q, k and v quantize their input alike: once for the three
} lq_bert_layer;

/* Activations of one forward pass, grown on demand; rows = B*T. */
typedef struct lq_bert_acts {
    size_t cap_rows, cap_att;
    float *x;              // residual stream (B, T, C)
    float *q, *k, *v;      // (B, T, C)
    float *y;              // attention output before the projection (B, T, C)
    float *h;              // sub-layer output + residual (B, T, C)
    float *ff;             // FFN hidden (B, T, F)
    float *xs;             // a linear layer's input times its SmoothQuant factors (B, T, F)
    float *att;            // attention probabilities (B, H, T, T)
    int32_t *tok;          // token ids with padding replaced by 0 (B, T)
    lq_i8_act qc, qf;      // W8A8: quantized inputs of width C and F (B*T rows)
} lq_bert_acts;

struct lq_bert {
    lq_bert_hparams hp;
    float *wte, *wpe, *wtt;   // (V, C), (P, C), (K, C)
    float *ln_e_w, *ln_e_b;   // (C)
    lq_bert_layer *layers;    // n_layer
    lq_bert_acts acts;
    lq_bert_hook_fn hook;     // calibration, or NULL
    void *hook_user;
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

extern const lq_bert_sub lq_bert_subs[LQ_BERT_N_SUB];

/* A deep copy of the float weights (not of W8A8 layers: NULL then). */
lq_bert *lq_bert_clone(const lq_bert *b);
/* Keeps every linear weight stored as I8_CH in tensors (llama.cpp names) as
 * an INT8 layer, with "<name>.act_scale" (static scale) and
 * "<name>.smooth_inv" (SmoothQuant input factors) when present, and frees
 * its F32 copy. */
llmq_status lq_bert_attach_w8a8(lq_bert *b, const lq_tensor *ts, size_t n, float outlier_threshold, lq_err *e);
bool lq_bert_is_w8a8(const lq_bert *b);
/* Columns routed to float by LLM.int8's decomposition / columns seen, summed
 * over the INT8 layers since loading. */
void lq_bert_w8a8_stats(const lq_bert *b, uint64_t *routed, uint64_t *seen);

static inline float **lq_bert_field(lq_bert_layer *L, size_t off) { return (float **)((char *)L + off); }

#endif
