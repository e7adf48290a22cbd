/* Traits of llmq's own weight formats (ids 64..92). lq_type_get forwards
 * ids past GGML's range here. Layouts: docs/FORMATS.md. */
#include "quant/types_llmq.h"

/* The codecs of the 24 group types share one implementation; these
 * wrappers give each type the traits' (src, dst, n) signature. */
#define GROUP_CODECS(T)                                                                          \
    static void quant_##T(const float *x, void *y, int64_t n) { lq_quant_llmq_group_ref(LQ_TYPE_##T, x, y, n); } \
    static void dequant_##T(const void *x, float *y, int64_t n) { lq_dequant_llmq_group(LQ_TYPE_##T, x, y, n); }
#define GROUP_CODECS_BITS(b)                                                                     \
    GROUP_CODECS(I##b##_G32S) GROUP_CODECS(I##b##_G32A) GROUP_CODECS(I##b##_G64S)                \
    GROUP_CODECS(I##b##_G64A) GROUP_CODECS(I##b##_G128S) GROUP_CODECS(I##b##_G128A)
GROUP_CODECS_BITS(2)
GROUP_CODECS_BITS(3)
GROUP_CODECS_BITS(4)
GROUP_CODECS_BITS(8)

/* block = fp16 scale [+ fp16 min] + group/32 units of bits*4 code bytes */
#define GROUP_SIZE(bits, group, asym) (2 + 2 * (asym) + (group) / 32 * (bits) * 4)
#define GROUP(b, g, sa, asym)                                                                    \
    [LQ_TYPE_I##b##_G##g##sa - LQ_TYPE_LLMQ_FIRST] = {"I" #b "_G" #g #sa, g, GROUP_SIZE(b, g, asym), false, \
                                                      dequant_I##b##_G##g##sa, quant_I##b##_G##g##sa, 0}
#define GROUPS(b)                                                                                \
    GROUP(b, 32, S, 0), GROUP(b, 32, A, 1), GROUP(b, 64, S, 0), GROUP(b, 64, A, 1), GROUP(b, 128, S, 0), \
        GROUP(b, 128, A, 1)

#define AT(t) [LQ_TYPE_##t - LQ_TYPE_LLMQ_FIRST]
static const lq_type_traits k_llmq_traits[LQ_TYPE_LLMQ_END - LQ_TYPE_LLMQ_FIRST] = {
    /* row-wise: blck_size 1, type_size 1, a 4-byte fp32 scale before each row */
    AT(I8_CH) = {"I8_CH", 1, 1, false, lq_dequant_i8_ch, lq_quant_i8_ch_ref, 4},
    GROUPS(2),
    GROUPS(3),
    GROUPS(4),
    GROUPS(8),
    AT(NF4) = {"NF4", 64, 2 + 32, false, lq_dequant_nf4, lq_quant_nf4_ref, 0},
    AT(F8_E4M3_CH) = {"F8_E4M3_CH", 1, 1, false, lq_dequant_f8_e4m3_ch, lq_quant_f8_e4m3_ch_ref, 4},
    AT(F8_E4M3_G32) = {"F8_E4M3_G32", 32, 2 + 32, false, lq_dequant_f8_e4m3_g32, lq_quant_f8_e4m3_g32_ref, 0},
    AT(F8_E4M3_G128) = {"F8_E4M3_G128", 128, 2 + 128, false, lq_dequant_f8_e4m3_g128, lq_quant_f8_e4m3_g128_ref, 0},
};

const lq_type_traits *lq_type_llmq_get(uint32_t t) {
    if (t < LQ_TYPE_LLMQ_FIRST || t >= LQ_TYPE_LLMQ_END) return NULL;
    return &k_llmq_traits[t - LQ_TYPE_LLMQ_FIRST];
}
