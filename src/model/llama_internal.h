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
    void *k_cache, *v_cache;    // (cap, lq_kv_token_bytes) in the model's kv_type
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
    llmq_kv_type kv_type; // how the caches store K and V
    int n_threads;
    bool w8a8;           // linear layers run INT8 x INT8 (generation then takes the block path)
};

/* Activation buffers of a forward pass over up to `rows` tokens at once. */
typedef struct lq_llama_acts {
    float *x, *xb, *q, *k, *v, *att, *g, *u, *S;
    float *kf, *vf; /* (P, kvd) each: an F16/Q8 cache read back for a prompt; NULL otherwise */
    lq_qact xq; /* one activation row quantized for the qdot kernels */
    void *mm;   /* lq_qmatmul's scratch */
} lq_llama_acts;

/* rows: tokens per call; attention of up to T_attn queries over up to P keys
 * with nt threads. */
llmq_status lq_llama_acts_alloc(lq_llama_acts *a, const lq_llama_hparams *hp, int rows, int T_attn, int P, int nt,
                                lq_err *e);
void lq_llama_acts_free(lq_llama_acts *a);

/* KV cache rows (one token: n_head_kv heads of hd values) in type t.
 * lq_kv_write stores T rows of src at token pos..; lq_kv_read converts
 * rows 0..P-1 to F32. */
size_t lq_kv_token_bytes(llmq_kv_type t, int n_head_kv, int hd);
void lq_kv_write(llmq_kv_type t, void *cache, int pos, const float *src, int T, int n_head_kv, int hd);
void lq_kv_read(llmq_kv_type t, const void *cache, int P, float *dst, int n_head_kv, int hd);

/* Where a block's linear layers read their input (calibration statistics). */
typedef enum lq_llama_point {
    LQ_POINT_ATTN_IN = 0,  /* attn_q/k/v: attn_norm(x), (n, C) */
    LQ_POINT_ATTN_OUT = 1, /* attn_output: attention output, (n, C) */
    LQ_POINT_FFN_IN = 2,   /* ffn_gate/up: ffn_norm(x), (n, C) */
    LQ_POINT_FFN_MID = 3,  /* ffn_down: silu(gate) * up, (n, F) */
    LQ_POINT_COUNT = 4,
} lq_llama_point;
typedef void (*lq_llama_hook)(void *user, int point, const float *x, int rows, int cols);

/* How lq_llama_block runs: n_seq sequences of T tokens in a->x (n_seq*T, C).
 * use_cache: one sequence at positions pos.. appended to the layer's KV cache
 * (decoding); otherwise every sequence attends causally over its own rows
 * from position 0 and the cache is untouched. hook (may be NULL) sees each
 * linear layer's input. stats_only: the caller wants only what the hook
 * sees, so the block stops after the last hook (a->x is left half-updated). */
typedef struct lq_llama_run {
    int n_seq, T, pos;
    bool use_cache, stats_only;
    int n_threads;
    lq_llama_hook hook;
    void *user;
} lq_llama_run;

/* Transformer block l on a->x, in place, with the layer's current weights. */
void lq_llama_block(lq_llama *m, int l, lq_llama_acts *a, const lq_llama_run *r);

/* The block in stages, each ending where a linear layer's input is ready
 * (calibration that quantizes the block's layers in order runs them apart). */
typedef enum lq_llama_stage {
    LQ_STAGE_ATTN_NORM = 0, /* x -> xb = attn_norm(x); hook ATTN_IN */
    LQ_STAGE_ATTN = 1,      /* xb -> q, k, v -> att; hook ATTN_OUT */
    LQ_STAGE_ATTN_OUT = 2,  /* att -> x += attn_output(att); xb = ffn_norm(x); hook FFN_IN */
    LQ_STAGE_FFN_UP = 3,    /* xb -> g = silu(gate(xb)) * up(xb); hook FFN_MID */
    LQ_STAGE_FFN_DOWN = 4,  /* g -> x += ffn_down(g) */
} lq_llama_stage;
/* Stages first..last of block l (lq_llama_block runs them all). */
void lq_llama_block_stages(lq_llama *m, int l, lq_llama_acts *a, const lq_llama_run *r, int first, int last);

#endif
