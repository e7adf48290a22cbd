/* llama2.c checkpoints (karpathy/llama2.c): the legacy header (7 int32:
 * dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative means
 * a separate classifier), seq_len) followed by fp32 weights; and the v1 header
 * (magic "ak42" = 0x616b3432, version 1, the 7 ints, a shared-classifier byte,
 * zero padding to 256 bytes) with fp32 weights in export.py's order.
 * Also the tokenizer.bin format (max_token_length, then per token: f32
 * score, i32 length, bytes). */
#ifndef LQ_LLAMA2C_H
#define LQ_LLAMA2C_H

#include "core/lq.h"
#include "model/tensor.h"

typedef struct lq_llama2c {
    int version;          /* 0 legacy, 1 */
    int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
    bool shared_classifier;
    int n_tensors;
    lq_tensor *tensors;   /* GGUF llama names (token_embd.weight,
                             blk.N.attn_norm.weight, blk.N.attn_q.weight, attn_k, attn_v,
                             attn_output, ffn_norm, ffn_gate (w1), ffn_down (w2),
                             ffn_up (w3), output_norm.weight, output.weight when
                             not shared); all F32, pointing into buf; names owned */
} lq_llama2c;

/* Validates the header (positive dims, heads divide dim, n_kv_heads divides
 * n_heads, sizes that do not overflow) and that the file holds every weight. */
llmq_status lq_llama2c_parse(const void *buf, size_t len, lq_llama2c **out, lq_err *e);
void lq_llama2c_free(lq_llama2c *c);


#endif
