#include "algo/presets.h"

#include "quant/types.h"

#include <ctype.h>
#include <string.h>

/* llama_ftype numbers, as llama.h numbers them */
enum { F_ALL_F32 = 0, F_F16 = 1, F_BF16 = 32, F_Q4_0 = 2, F_Q4_1 = 3, F_Q8_0 = 7, F_Q5_0 = 8, F_Q5_1 = 9, F_Q2_K = 10, F_Q3_K_S = 11, F_Q3_K_M = 12,
       F_Q3_K_L = 13, F_Q4_K_S = 14, F_Q4_K_M = 15, F_Q5_K_S = 16, F_Q5_K_M = 17, F_Q6_K = 18, F_Q2_K_S = 21,
       F_IQ4_NL = 25 };

static const lq_preset presets[] = {
    {"Q4_0", F_Q4_0, LQ_TYPE_Q4_0, false},     {"Q4_1", F_Q4_1, LQ_TYPE_Q4_1, false},     {"Q5_0", F_Q5_0, LQ_TYPE_Q5_0, false},
    {"Q5_1", F_Q5_1, LQ_TYPE_Q5_1, false},     {"Q8_0", F_Q8_0, LQ_TYPE_Q8_0, false},     {"Q2_K", F_Q2_K, LQ_TYPE_Q2_K, false},
    {"Q2_K_S", F_Q2_K_S, LQ_TYPE_Q2_K, true}, {"Q3_K_S", F_Q3_K_S, LQ_TYPE_Q3_K, false}, {"Q3_K_M", F_Q3_K_M, LQ_TYPE_Q3_K, false},
    {"Q3_K_L", F_Q3_K_L, LQ_TYPE_Q3_K, false}, {"Q4_K_S", F_Q4_K_S, LQ_TYPE_Q4_K, false}, {"Q4_K_M", F_Q4_K_M, LQ_TYPE_Q4_K, false},
    {"Q5_K_S", F_Q5_K_S, LQ_TYPE_Q5_K, false}, {"Q5_K_M", F_Q5_K_M, LQ_TYPE_Q5_K, false}, {"Q6_K", F_Q6_K, LQ_TYPE_Q6_K, false},
    {"IQ4_NL", F_IQ4_NL, LQ_TYPE_IQ4_NL, false},
};

uint32_t lq_pure_file_type(uint32_t type) {
    if (type == LQ_TYPE_F16) return F_F16;
    if (type == LQ_TYPE_BF16) return F_BF16;
    /* a quantized type names the mix it is the base of (Q4_K: Q4_K_M as llama.cpp does) */
    static const struct { uint32_t type; int ftype; } more[] = {
        {LQ_TYPE_Q3_K, F_Q3_K_M}, {LQ_TYPE_Q4_K, F_Q4_K_M}, {LQ_TYPE_Q5_K, F_Q5_K_M}};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        if (more[i].type == type) return (uint32_t)more[i].ftype;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (presets[i].base == type && !presets[i].needs_imatrix) return (uint32_t)presets[i].ftype;
    return F_ALL_F32;
}

const lq_preset *lq_preset_find(const char *name) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        const char *a = presets[i].name, *b = name;
        while (*a && *b && toupper((unsigned char)*a) == toupper((unsigned char)*b)) a++, b++;
        if (!*a && !*b) return &presets[i];
    }
    return NULL;
}

/* The layers llama.cpp gives more bits: the first and last eighth, and every
 * third one in between. */
static bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static bool has(const char *name, const char *part) { return strstr(name, part) != NULL; }

static uint32_t pick_attn_v(lq_preset_state *s) {
    int f = s->p->ftype, i = s->i_attn_v++;
    uint32_t t = s->p->base;
    if (f == F_Q2_K) t = s->n_gqa >= 4 ? LQ_TYPE_Q4_K : LQ_TYPE_Q3_K;
    else if (f == F_Q2_K_S && s->n_gqa >= 4) t = LQ_TYPE_Q4_K;
    else if (f == F_Q3_K_M) t = i < 2 ? LQ_TYPE_Q5_K : LQ_TYPE_Q4_K;
    else if (f == F_Q3_K_L) t = LQ_TYPE_Q5_K;
    else if (f == F_IQ4_NL && s->n_gqa >= 4) t = LQ_TYPE_Q5_K;
    else if ((f == F_Q4_K_M || f == F_Q5_K_M) && use_more_bits(i, s->n_layer)) t = LQ_TYPE_Q6_K;
    else if (f == F_Q4_K_S && i < 4) t = LQ_TYPE_Q5_K;
    return t;
}

static uint32_t pick_ffn_down(lq_preset_state *s) {
    int f = s->p->ftype, i = s->i_ffn_down++, n = s->n_layer;
    uint32_t t = s->p->base;
    if (f == F_Q2_K) t = LQ_TYPE_Q3_K;
    else if (f == F_Q2_K_S) t = i < n / 8 ? LQ_TYPE_Q4_K : t;
    else if (f == F_Q3_K_M) t = i < n / 16 ? LQ_TYPE_Q5_K : LQ_TYPE_Q4_K;
    else if (f == F_Q3_K_L) t = LQ_TYPE_Q5_K;
    else if (f == F_Q4_K_M) t = use_more_bits(i, n) ? LQ_TYPE_Q6_K : t;
    else if (i < n / 8 && f == F_IQ4_NL && !s->has_imatrix) t = LQ_TYPE_Q5_K;
    else if (f == F_Q5_K_M && use_more_bits(i, n)) t = LQ_TYPE_Q6_K;
    else if (f == F_Q4_K_S && i < n / 8) t = LQ_TYPE_Q5_K;
    else if ((f == F_Q4_0 || f == F_Q5_0) && s->has_imatrix && i < n / 8)
        t = f == F_Q4_0 ? LQ_TYPE_Q4_1 : LQ_TYPE_Q5_1;
    return t;
}

uint32_t lq_preset_pick(lq_preset_state *s, const char *name, int64_t ne0) {
    int f = s->p->ftype;
    bool output = strcmp(name, "output.weight") == 0, embd = strcmp(name, "token_embd.weight") == 0;
    if (output || (s->tied && embd)) {
        /* the output matrix (or the embedding that doubles as it) */
        const lq_type_traits *tr = lq_type_get(s->p->base);
        if (ne0 % tr->blck_size != 0) return LQ_TYPE_Q8_0;
        return s->p->base == LQ_TYPE_Q8_0 ? LQ_TYPE_Q8_0 : LQ_TYPE_Q6_K;
    }
    if (embd) return s->p->base;
    if (has(name, "attn_v.weight")) return pick_attn_v(s);
    if (has(name, "ffn_down")) return pick_ffn_down(s);
    if (has(name, "attn_output.weight")) {
        if (f == F_Q2_K) return LQ_TYPE_Q3_K;
        if (f == F_Q3_K_M) return LQ_TYPE_Q4_K;
        if (f == F_Q3_K_L) return LQ_TYPE_Q5_K;
    }
    return s->p->base;
}
