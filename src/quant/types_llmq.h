/* llmq's own weight formats (ids 64 and up, after GGML's 0..39): per-channel
 * INT8, group-wise INT2/3/4/8 (symmetric and asymmetric), NF4 and FP8 E4M3.
 * Byte layouts, bits per weight and ids: docs/FORMATS.md. */
#ifndef LQ_QUANT_TYPES_LLMQ_H
#define LQ_QUANT_TYPES_LLMQ_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "quant/types.h"

/* Group types: LQ_TYPE_I<bits>_G<group><S|A>, in the order bits 2, 3, 4, 8,
 * then group 32, 64, 128, then S (symmetric) before A (asymmetric). */
#define LQ_LLMQ_GROUP_TYPES(bits, first) \
    LQ_TYPE_I##bits##_G32S = (first), LQ_TYPE_I##bits##_G32A, LQ_TYPE_I##bits##_G64S, \
    LQ_TYPE_I##bits##_G64A, LQ_TYPE_I##bits##_G128S, LQ_TYPE_I##bits##_G128A

typedef enum lq_type_llmq {
    LQ_TYPE_LLMQ_FIRST = 64,
    LQ_TYPE_I8_CH = 64, /* per output channel: fp32 scale row header + int8 */
    LQ_LLMQ_GROUP_TYPES(2, 65),
    LQ_LLMQ_GROUP_TYPES(3, 71),
    LQ_LLMQ_GROUP_TYPES(4, 77),
    LQ_LLMQ_GROUP_TYPES(8, 83),
    LQ_TYPE_NF4 = 89,          /* block 64, fp16 absmax, NF4 codebook */
    LQ_TYPE_F8_E4M3_CH = 90,   /* fp32 scale row header + E4M3 bytes */
    LQ_TYPE_F8_E4M3_G32 = 91,  /* fp16 scale + 32 E4M3 bytes */
    LQ_TYPE_F8_E4M3_G128 = 92, /* fp16 scale + 128 E4M3 bytes */
    LQ_TYPE_LLMQ_END = 93,
} lq_type_llmq;

/* Traits of llmq type t (lq_type_get forwards ids >= 64 here), or NULL. */
const lq_type_traits *lq_type_llmq_get(uint32_t t);

/* Shape of a group type: bits per code, values per group, asymmetric.
 * false when t is not a group type. */
static inline bool lq_llmq_group_params(uint32_t t, int *bits, int *group, bool *asym) {
    if (t < LQ_TYPE_I2_G32S || t > LQ_TYPE_I8_G128A) return false;
    static const int k_bits[4] = {2, 3, 4, 8}, k_group[3] = {32, 64, 128};
    const uint32_t i = t - LQ_TYPE_I2_G32S;
    *bits = k_bits[i / 6];
    *group = k_group[(i % 6) / 2];
    *asym = (i % 2) != 0;
    return true;
}

/* Bytes of the codes of 32 values of a b-bit group type (b = 2, 3, 4, 8). */
static inline int lq_llmq_unit_bytes(int bits) { return bits * 4; }

/* ----------------------------------------------------- reference codecs */

/* Row-wise and group types: one row (row_header types: n is exactly one
 * row) of n values. Quantizers are deterministic round-to-nearest. */
void lq_quant_i8_ch_ref(const float *x, void *y, int64_t n);
void lq_dequant_i8_ch(const void *src, float *dst, int64_t n);
/* Group int types: t selects bits/group/asym. */
void lq_quant_llmq_group_ref(uint32_t t, const float *x, void *y, int64_t n);
void lq_dequant_llmq_group(uint32_t t, const void *src, float *dst, int64_t n);
/* Codes of the 32 values of unit u (32 values each) of a group block:
 * the stored unsigned fields (0 .. 2^bits-1) in value order. */
void lq_llmq_unpack_unit(int bits, const uint8_t *unit, uint8_t codes[32]);
/* The inverse: 32 stored codes (value order) into one unit of a group block. */
void lq_llmq_pack_unit(int bits, const uint8_t codes[32], uint8_t *unit);
/* One stored field: value i (0..31) of a unit, (re)written in place. */
void lq_llmq_put_code(int bits, uint8_t *unit, int i, int v);

void lq_quant_nf4_ref(const float *x, void *y, int64_t n);
void lq_dequant_nf4(const void *src, float *dst, int64_t n);
void lq_quant_f8_e4m3_ch_ref(const float *x, void *y, int64_t n);
void lq_dequant_f8_e4m3_ch(const void *src, float *dst, int64_t n);
void lq_quant_f8_e4m3_g32_ref(const float *x, void *y, int64_t n);
void lq_dequant_f8_e4m3_g32(const void *src, float *dst, int64_t n);
void lq_quant_f8_e4m3_g128_ref(const float *x, void *y, int64_t n);
void lq_dequant_f8_e4m3_g128(const void *src, float *dst, int64_t n);

/* The 16 NF4 values (bitsandbytes' code book, as float32). */
extern const float lq_nf4_values[16];
/* The code of the entry nearest to v, ties to the lower code; 7 (zero) for
 * NaN and infinities: what a scan of the whole book gives. */
int lq_nf4_nearest(float v);

/* E4M3 (OCP FP8: bias 7, no inf, 0x7F/0xFF NaN, max 448) to float, exact:
 * the 7 magnitude bits placed at the top of a float's exponent/mantissa give
 * 2^-120 times the value (subnormals included), so one power-of-two multiply
 * rescales it. Kernels decode with the same steps. */
static inline float lq_e4m3_to_fp32(uint8_t c) {
    const uint32_t sign = (uint32_t)(c & 0x80) << 24, mag = c & 0x7F;
    uint32_t bits;
    if (mag == 0x7F) {
        bits = sign | 0x7FC00000u;
    } else {
        float f;
        bits = mag << 20;
        memcpy(&f, &bits, 4);
        f *= 0x1p120f;
        memcpy(&bits, &f, 4);
        bits |= sign;
    }
    float r;
    memcpy(&r, &bits, 4);
    return r;
}
/* float to E4M3, round to nearest even, saturating at +-448; NaN -> 0x7F. */
uint8_t lq_fp32_to_e4m3(float v);

#endif
