/* The traits table of GGML tensor types (ids as stored in GGUF files) and the
 * exact fp16 / bf16 scalar conversions of GGML's reference code. */
#include "quant/types.h"

#include "core/lq.h"
#include "quant/dequant.h"
#include "quant/quantize.h"
#include "quant/types_llmq.h"

#include <math.h>
#include <string.h>

#define QK_K 256

/* Removed ids keep their old names and layouts so error messages can say
 * what they were; the GGUF reader rejects them. */
#define DEPRECATED(nm, bs, ts) {nm, bs, ts, true, NULL, NULL}
#define TYPE(nm, bs, ts, fn) {nm, bs, ts, false, fn, NULL}
/* a type with a reference quantizer (byte-identical with ggml's) */
#define TYPEQ(nm, bs, ts, fn, q) {nm, bs, ts, false, fn, q}

static const lq_type_traits k_traits[LQ_TYPE_GGML_COUNT] = {
    [LQ_TYPE_F32] = TYPE("F32", 1, 4, lq_dequant_f32),
    [LQ_TYPE_F16] = TYPE("F16", 1, 2, lq_dequant_f16),
    [LQ_TYPE_Q4_0] = TYPEQ("Q4_0", 32, 18, lq_dequant_q4_0, lq_quant_q4_0_ref),
    [LQ_TYPE_Q4_1] = TYPEQ("Q4_1", 32, 20, lq_dequant_q4_1, lq_quant_q4_1_ref),
    [4] = DEPRECATED("Q4_2", 16, 10),
    [5] = DEPRECATED("Q4_3", 16, 12),
    [LQ_TYPE_Q5_0] = TYPEQ("Q5_0", 32, 22, lq_dequant_q5_0, lq_quant_q5_0_ref),
    [LQ_TYPE_Q5_1] = TYPEQ("Q5_1", 32, 24, lq_dequant_q5_1, lq_quant_q5_1_ref),
    [LQ_TYPE_Q8_0] = TYPEQ("Q8_0", 32, 34, lq_dequant_q8_0, lq_quant_q8_0_ref),
    [LQ_TYPE_Q8_1] = TYPEQ("Q8_1", 32, 36, lq_dequant_q8_1, lq_quant_q8_1_ref),
    [LQ_TYPE_Q2_K] = TYPEQ("Q2_K", QK_K, 84, lq_dequant_q2_k, lq_quant_q2_k_ref),
    [LQ_TYPE_Q3_K] = TYPEQ("Q3_K", QK_K, 110, lq_dequant_q3_k, lq_quant_q3_k_ref),
    [LQ_TYPE_Q4_K] = TYPEQ("Q4_K", QK_K, 144, lq_dequant_q4_k, lq_quant_q4_k_ref),
    [LQ_TYPE_Q5_K] = TYPEQ("Q5_K", QK_K, 176, lq_dequant_q5_k, lq_quant_q5_k_ref),
    [LQ_TYPE_Q6_K] = TYPEQ("Q6_K", QK_K, 210, lq_dequant_q6_k, lq_quant_q6_k_ref),
    [LQ_TYPE_Q8_K] = TYPEQ("Q8_K", QK_K, 292, lq_dequant_q8_k, lq_quant_q8_k_ref),
    [LQ_TYPE_IQ2_XXS] = TYPE("IQ2_XXS", QK_K, 66, NULL),
    [LQ_TYPE_IQ2_XS] = TYPE("IQ2_XS", QK_K, 74, NULL),
    [LQ_TYPE_IQ3_XXS] = TYPE("IQ3_XXS", QK_K, 98, NULL),
    [LQ_TYPE_IQ1_S] = TYPE("IQ1_S", QK_K, 50, NULL),
    [LQ_TYPE_IQ4_NL] = TYPEQ("IQ4_NL", 32, 18, lq_dequant_iq4_nl, lq_quant_iq4_nl_ref),
    [LQ_TYPE_IQ3_S] = TYPE("IQ3_S", QK_K, 110, NULL),
    [LQ_TYPE_IQ2_S] = TYPE("IQ2_S", QK_K, 82, NULL),
    [LQ_TYPE_IQ4_XS] = TYPE("IQ4_XS", QK_K, 136, NULL),
    [LQ_TYPE_I8] = TYPE("I8", 1, 1, NULL),
    [LQ_TYPE_I16] = TYPE("I16", 1, 2, NULL),
    [LQ_TYPE_I32] = TYPE("I32", 1, 4, NULL),
    [LQ_TYPE_I64] = TYPE("I64", 1, 8, NULL),
    [LQ_TYPE_F64] = TYPE("F64", 1, 8, lq_dequant_f64),
    [LQ_TYPE_IQ1_M] = TYPE("IQ1_M", QK_K, 56, NULL),
    [LQ_TYPE_BF16] = TYPE("BF16", 1, 2, lq_dequant_bf16),
    [31] = DEPRECATED("Q4_0_4_4", 32, 18),
    [32] = DEPRECATED("Q4_0_4_8", 32, 18),
    [33] = DEPRECATED("Q4_0_8_8", 32, 18),
    [LQ_TYPE_TQ1_0] = TYPE("TQ1_0", QK_K, 54, NULL),
    [LQ_TYPE_TQ2_0] = TYPE("TQ2_0", QK_K, 66, NULL),
    [36] = DEPRECATED("IQ4_NL_4_4", 32, 18),
    [37] = DEPRECATED("IQ4_NL_4_8", 32, 18),
    [38] = DEPRECATED("IQ4_NL_8_8", 32, 18),
    [LQ_TYPE_MXFP4] = TYPEQ("MXFP4", 32, 17, lq_dequant_mxfp4, lq_quant_mxfp4_ref),
};

const lq_type_traits *lq_type_get(uint32_t t) {
    if (t < LQ_TYPE_GGML_COUNT) return k_traits[t].name ? &k_traits[t] : NULL;
    return lq_type_llmq_get(t);
}

const char *lq_type_name(uint32_t t) {
    const lq_type_traits *tr = lq_type_get(t);
    return tr ? tr->name : "?";
}

size_t lq_row_size(uint32_t t, int64_t n) {
    const lq_type_traits *tr = lq_type_get(t);
    if (!tr || tr->deprecated || n < 0 || n % tr->blck_size != 0) return 0;
    size_t bytes;
    if (!lq_mul_ok((size_t)(n / tr->blck_size), tr->type_size, &bytes)) return 0;
    if (tr->row_header && n == 0) return 0; /* a row-wise type needs values to scale */
    if (!lq_add_ok(bytes, tr->row_header, &bytes)) return 0;
    return bytes;
}

/* ------------------------------------------------------------ fp16 / bf16 */

static inline float f32_from_bits(uint32_t w) {
    float f;
    memcpy(&f, &w, 4);
    return f;
}

static inline uint32_t f32_to_bits(float f) {
    uint32_t w;
    memcpy(&w, &f, 4);
    return w;
}

/* Maratyszcza's FP16 conversion, as GGML's portable path: the exponent is
 * rebiased by a float multiply, subnormals come from a magic-number
 * subtraction, inf and NaN fall out of the rebias. */
float lq_fp16_to_fp32(uint16_t h) {
    const uint32_t w = (uint32_t)h << 16;
    const uint32_t sign = w & UINT32_C(0x80000000);
    const uint32_t two_w = w + w;
    const uint32_t exp_offset = UINT32_C(0xE0) << 23;
    const float exp_scale = 0x1.0p-112f;
    const float normalized = f32_from_bits((two_w >> 4) + exp_offset) * exp_scale;
    const uint32_t magic_mask = UINT32_C(126) << 23;
    const float magic_bias = 0.5f;
    const float denormalized = f32_from_bits((two_w >> 17) | magic_mask) - magic_bias;
    const uint32_t denormalized_cutoff = UINT32_C(1) << 27;
    const uint32_t bits = sign | (two_w < denormalized_cutoff ? f32_to_bits(denormalized) : f32_to_bits(normalized));
    return f32_from_bits(bits);
}

/* Round to nearest even; overflow gives inf, NaN gives 0x7E00 with the sign. */
uint16_t lq_fp32_to_fp16(float f) {
    const float scale_to_inf = 0x1.0p+112f;
    const float scale_to_zero = 0x1.0p-110f;
    float base = (fabsf(f) * scale_to_inf) * scale_to_zero;
    const uint32_t w = f32_to_bits(f);
    const uint32_t shl1_w = w + w;
    const uint32_t sign = w & UINT32_C(0x80000000);
    uint32_t bias = shl1_w & UINT32_C(0xFF000000);
    if (bias < UINT32_C(0x71000000)) bias = UINT32_C(0x71000000);
    base = f32_from_bits((bias >> 1) + UINT32_C(0x07800000)) + base;
    const uint32_t bits = f32_to_bits(base);
    const uint32_t exp_bits = (bits >> 13) & UINT32_C(0x00007C00);
    const uint32_t mantissa_bits = bits & UINT32_C(0x00000FFF);
    const uint32_t nonsign = exp_bits + mantissa_bits;
    return (uint16_t)((sign >> 16) | (shl1_w > UINT32_C(0xFF000000) ? UINT16_C(0x7E00) : nonsign));
}

float lq_bf16_to_fp32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }

uint16_t lq_fp32_to_bf16(float f) {
    uint32_t u = f32_to_bits(f);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 64); /* NaN: force quiet */
    return (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}
