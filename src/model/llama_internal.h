/* Private state of the llama decoder, shared by its load and forward files. */
#ifndef LQ_LLAMA_INTERNAL_H
#define LQ_LLAMA_INTERNAL_H

#include "model/llama.h"

#include "kernels/qmatmul.h"

typedef struct lq_llama_layer {
    float *attn_norm;           // (C)
    lq_qweight wq, wk, wv, wo;  // (C, C) (kvd, C) (kvd, C) (C, C), rows = outputs
    float *ffn_norm;            // (C)
    lq_qweight w_gate, w_up;    // (F, C)
    lq_qweight w_down;          // (C, F)
    float *k_cache, *v_cache;   // (cap, kvd)
} lq_llama_layer;

struct lq_llama {
    lq_llama_hparams hp;
    lq_qweight tok_embd; // (V, C)
    float *output_norm;  // (C)
    lq_qweight output;   // (V, C); a copy of tok_embd's view when tied
    bool tied;
    lq_llama_layer *layers;
    int kv_cap;          // tokens the caches have room for
    int kv_len;          // tokens filled (positions 0..kv_len-1)
    int max_ctx;         // cache limit
    int n_threads;
};

#endif
