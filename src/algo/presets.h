/* llama.cpp's quantization mixes ("Q4_K_M", "Q3_K_S", ...): which type each
 * tensor of a llama-architecture model gets, decided exactly as
 * llama-quantize decides it without an importance matrix (tensor category,
 * layer position, grouped-query ratio, tied embeddings). */
#ifndef LQ_ALGO_PRESETS_H
#define LQ_ALGO_PRESETS_H

#include "core/lq.h"

typedef struct lq_preset {
    const char *name;     /* "Q4_K_M" */
    int ftype;            /* llama_ftype number, recorded as general.file_type */
    uint32_t base;        /* the mix's default type */
    bool needs_imatrix;   /* llama-quantize refuses it without one */
} lq_preset;

/* The preset of that name (case-insensitive), or NULL. */
const lq_preset *lq_preset_find(const char *name);

/* llama_ftype number of a file with one type everywhere (0 for F32 and for
 * types llama.h has no number for). */
uint32_t lq_pure_file_type(uint32_t type);

/* Walks the tensors of one model in file order. */
typedef struct lq_preset_state {
    const lq_preset *p;
    int n_layer, n_gqa;   /* layers; query heads per kv head */
    bool tied;            /* output shares the token embedding */
    int i_attn_v, i_ffn_down;
    bool has_imatrix;     /* quantizing with importance data: llama-quantize then
                             guards the first ffn_down layers of Q4_0/Q5_0 */
} lq_preset_state;

/* Type for tensor `name` (a GGUF llama name) whose rows have ne0 values,
 * before the row-size fallback. Call once per 2-D tensor, in file order. */
uint32_t lq_preset_pick(lq_preset_state *s, const char *name, int64_t ne0);

#endif
