/* BERT encoder (Hugging Face BertModel layout) for sentence embeddings:
 * word + absolute position + token-type embeddings, LayerNorm, n_layer x
 * [self-attention with mask -> dense -> add & LayerNorm -> GELU FFN -> add &
 * LayerNorm] (post-LN), then mean pooling over tokens and L2 normalization as
 * sentence-transformers does for all-MiniLM-L6-v2. */
#ifndef LQ_BERT_H
#define LQ_BERT_H

#include "core/lq.h"
#include "io/safetensors.h"

typedef struct lq_bert_hparams {
    int n_vocab, n_embd, n_layer, n_head, n_ff, n_pos, n_types;
    float ln_eps;
} lq_bert_hparams;

typedef struct lq_bert lq_bert;

/* Tensor names: Hugging Face BertModel ("embeddings.word_embeddings.weight",
 * with or without a "bert." prefix) or llama.cpp's GGUF "bert" layout
 * ("token_embd.weight", "blk.N.attn_q.weight", ...). */
typedef enum lq_bert_layout { LQ_BERT_HF = 0, LQ_BERT_GGUF = 1 } lq_bert_layout;

/* Reads config.json ("model_type": "bert", hidden_act "gelu") and binds every
 * weight (names with or without the "bert." prefix), converting to F32.
 * Missing tensors -> MISSING, wrong shapes or n_head not dividing n_embd ->
 * SHAPE. */
llmq_status lq_bert_load(const lq_hf_dir *d, lq_bert **out, lq_err *e);
/* Binds every weight of hp from tensors[0..n) named as layout says. Any type
 * with a dequantizer is accepted (quantized matrices become F32 here).
 * Missing -> MISSING; wrong shape, or n_head not dividing n_embd -> SHAPE;
 * a type that cannot be dequantized -> UNSUPPORTED. */
llmq_status lq_bert_load_tensors(const lq_bert_hparams *hp, const lq_tensor *tensors, size_t n,
                                 lq_bert_layout layout, lq_bert **out, lq_err *e);
void lq_bert_free(lq_bert *b);
const lq_bert_hparams *lq_bert_hparams_of(const lq_bert *b);

/* Embeds one sequence of n tokens (already wrapped in [CLS] ... [SEP]; n is
 * truncated to n_pos). out: n_embd floats, L2-normalized mean of the last
 * hidden states. */
llmq_status lq_bert_embed(lq_bert *b, const int32_t *tokens, int n, float *out,
                          int n_threads, lq_err *e);

/* Embeds B sequences at once, each padded to T tokens (right padding, as
 * Hugging Face tokenizers do): tokens (B, T) row-major; mask (B, T) holds 1
 * for a real token and 0 for padding (ids there are ignored), NULL when
 * nothing is padded. T must be at most n_pos. out: B rows of n_embd floats.
 * Each row matches (up to rounding) lq_bert_embed on that sequence alone. */
llmq_status lq_bert_embed_batch(lq_bert *b, const int32_t *tokens, const uint8_t *mask, int B, int T,
                                float *out, int n_threads, lq_err *e);

#endif
