/* Llama-family decoder: RMSNorm, RoPE (GGUF/Meta interleaved-pair layout),
 * grouped-query attention with a KV cache, SwiGLU feed-forward, tied or
 * separate output matrix. Matrices stay in their quantized type where a kernel runs it (kernels/qdot.h), else F32. */
#ifndef LQ_LLAMA_H
#define LQ_LLAMA_H

#include "core/lq.h"
#include "model/tensor.h"

typedef struct lq_llama_hparams {
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx_train;
    float norm_eps, rope_theta;
} lq_llama_hparams;

typedef struct lq_llama lq_llama;

/* Where the weights come from and how their names are spelled. */
typedef enum lq_llama_layout {
    LQ_LAYOUT_GGUF = 0, /* token_embd.weight, blk.N.attn_q.weight, ... */
    LQ_LAYOUT_HF = 1,   /* model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight, ...;
                           Q and K rows are permuted back to the interleaved RoPE layout */
} lq_llama_layout;

/* Checks hp (positive sizes, heads divide the width, kv heads divide heads)
 * and binds every weight from tensors[0..n), converting to F32. Missing
 * tensors -> MISSING, wrong shapes -> SHAPE, types without a dequantizer ->
 * UNSUPPORTED. A missing output matrix means it is tied to the embedding. */
/* map: the file the tensors lie in, or NULL; the pages of a weight the
 * model holds a copy of (F32, or planar rows) are handed back to it. */
struct lq_mapfile;
llmq_status lq_llama_load(const lq_llama_hparams *hp, const lq_tensor *tensors, size_t n,
                          lq_llama_layout layout, const struct lq_mapfile *map, lq_llama **out, lq_err *e);
void lq_llama_free(lq_llama *m);
/* W8A8 files: every I8_CH linear layer (not the token embedding) runs INT8 x
 * INT8 with per-token activation scales, or the static scale of its
 * "<weight name>.act_scale" tensor; outlier_threshold > 0 adds LLM.int8's
 * float columns. */
llmq_status lq_llama_enable_w8a8(lq_llama *m, const lq_tensor *tensors, size_t n, float outlier_threshold,
                                 lq_err *e);
const lq_llama_hparams *lq_llama_hparams_of(const lq_llama *m);
bool lq_llama_tied(const lq_llama *m);

/* KV cache limit (tokens); <= 0 means n_ctx_train. */
void lq_llama_set_max_ctx(lq_llama *m, int max_ctx);
void lq_llama_set_threads(lq_llama *m, int n_threads);
/* KV cache storage; empties the cache (call it before decoding). */
void lq_llama_set_kv_type(lq_llama *m, llmq_kv_type t);

/* Runs tokens at positions pos.. and writes the logits of the last n_logits
 * tokens (n_logits x n_vocab) when logits is non-NULL. */
llmq_status lq_llama_decode(lq_llama *m, const int32_t *tokens, int n, int pos,
                            float *logits, int n_logits, lq_err *e);

#endif
