/* Test helpers: turn llama weights in GGUF naming/layout into the Hugging
 * Face one (names, and Q/K rows ordered for rotate-half RoPE). */
#ifndef LLMQ_TEST_HF_LAYOUT_H
#define LLMQ_TEST_HF_LAYOUT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GGUF tensor name -> HF name ("?" for names without a mapping). The output
 * matrix is left out: the fixtures tie it to the embedding. */
static void hf_name(const char *g, char *out, size_t cap) {
    static const char *const map[][2] = {
        {"attn_norm", "input_layernorm"}, {"attn_q", "self_attn.q_proj"}, {"attn_k", "self_attn.k_proj"},
        {"attn_v", "self_attn.v_proj"}, {"attn_output", "self_attn.o_proj"}, {"ffn_norm", "post_attention_layernorm"},
        {"ffn_gate", "mlp.gate_proj"}, {"ffn_up", "mlp.up_proj"}, {"ffn_down", "mlp.down_proj"},
    };
    int layer;
    char what[64];
    snprintf(out, cap, "?");
    if (!strcmp(g, "token_embd.weight")) snprintf(out, cap, "model.embed_tokens.weight");
    else if (!strcmp(g, "output_norm.weight")) snprintf(out, cap, "model.norm.weight");
    else if (sscanf(g, "blk.%d.%63[^.].weight", &layer, what) == 2)
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (!strcmp(map[i][0], what)) snprintf(out, cap, "model.layers.%d.%s.weight", layer, map[i][1]);
}

/* GGUF (interleaved pairs) -> HF (halves) row order within each head;
 * returns a malloc'd copy. */
static float *permute_to_hf(const float *w, int n_head, int hd, int cols) {
    float *o = malloc((size_t)n_head * hd * cols * sizeof *o);
    for (int h = 0; h < n_head; h++)
        for (int i = 0; i < hd / 2; i++)
            for (int j = 0; j < 2; j++)
                memcpy(o + ((size_t)h * hd + j * hd / 2 + i) * cols, w + ((size_t)h * hd + 2 * i + j) * cols,
                       cols * sizeof *o);
    return o;
}

#endif
