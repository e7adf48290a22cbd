/* One 32-value block of the legacy weight types against one Q8_0 / Q8_1
 * activation block: the float term the row sum adds (see
 * ref/qdot_legacy_ref.c for the definition). Shared by the reference and
 * by the SIMD kernels for blocks past their last full vector step. Blocks
 * are read with memcpy: rows need not be aligned. */
#ifndef LQ_KERNELS_QDOT_LEGACY_BLOCK_H
#define LQ_KERNELS_QDOT_LEGACY_BLOCK_H

#include "quant/blocks.h"
#include "quant/types.h"

#include <stdint.h>
#include <string.h>

static const int8_t lq_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};
/* E2M1 values doubled; the E8M0 scale is halved to match (as ggml). */
static const int8_t lq_kvalues_mxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/* ggml_e8m0_to_fp32_half: 2^(e-128), denormal for e < 2 */
static inline float lq_e8m0_to_fp32_half(uint8_t e) {
    uint32_t bits = e < 2 ? (UINT32_C(0x00200000) << e) : ((uint32_t)(e - 1) << 23);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* value j of a 5-bit block: low nibble, bit j of qh as bit 4 */
static inline int lq_q5_code(const uint8_t *qs, uint32_t qh, int j) {
    const int nib = j < 16 ? (qs[j] & 0x0F) : (qs[j - 16] >> 4);
    return nib | (int)(((qh >> j) & 1u) << 4);
}

static inline float lq_legacy_term_q4_0(const void *wb, const block_q8_0 *x) {
    block_q4_0 w;
    memcpy(&w, wb, sizeof w);
    int32_t isum = 0;
    for (int j = 0; j < 16; j++)
        isum += ((w.qs[j] & 0x0F) - 8) * x->qs[j] + ((w.qs[j] >> 4) - 8) * x->qs[j + 16];
    return (lq_fp16_to_fp32(w.d) * lq_fp16_to_fp32(x->d)) * (float)isum;
}

static inline float lq_legacy_term_q4_1(const void *wb, const block_q8_1 *x) {
    block_q4_1 w;
    memcpy(&w, wb, sizeof w);
    int32_t isum = 0;
    for (int j = 0; j < 16; j++) isum += (w.qs[j] & 0x0F) * x->qs[j] + (w.qs[j] >> 4) * x->qs[j + 16];
    return (lq_fp16_to_fp32(w.d) * lq_fp16_to_fp32(x->d)) * (float)isum +
           lq_fp16_to_fp32(w.m) * lq_fp16_to_fp32(x->s);
}

static inline float lq_legacy_term_q5_0(const void *wb, const block_q8_0 *x) {
    block_q5_0 w;
    memcpy(&w, wb, sizeof w);
    uint32_t qh;
    memcpy(&qh, w.qh, 4);
    int32_t isum = 0;
    for (int j = 0; j < 32; j++) isum += (lq_q5_code(w.qs, qh, j) - 16) * x->qs[j];
    return (lq_fp16_to_fp32(w.d) * lq_fp16_to_fp32(x->d)) * (float)isum;
}

static inline float lq_legacy_term_q5_1(const void *wb, const block_q8_1 *x) {
    block_q5_1 w;
    memcpy(&w, wb, sizeof w);
    uint32_t qh;
    memcpy(&qh, w.qh, 4);
    int32_t isum = 0;
    for (int j = 0; j < 32; j++) isum += lq_q5_code(w.qs, qh, j) * x->qs[j];
    return (lq_fp16_to_fp32(w.d) * lq_fp16_to_fp32(x->d)) * (float)isum +
           lq_fp16_to_fp32(w.m) * lq_fp16_to_fp32(x->s);
}

static inline float lq_legacy_term_q8_0(const void *wb, const block_q8_0 *x) {
    block_q8_0 w;
    memcpy(&w, wb, sizeof w);
    int32_t isum = 0;
    for (int j = 0; j < 32; j++) isum += w.qs[j] * x->qs[j];
    return (lq_fp16_to_fp32(w.d) * lq_fp16_to_fp32(x->d)) * (float)isum;
}

/* isum of 16 bytes of nibble codes (low: values 0..15, high: 16..31) looked
 * up in a code book of int8 values */
static inline int32_t lq_legacy_lut_isum(const int8_t *book, const uint8_t *qs, const int8_t *xqs) {
    int32_t isum = 0;
    for (int j = 0; j < 16; j++) isum += book[qs[j] & 0x0F] * xqs[j] + book[qs[j] >> 4] * xqs[j + 16];
    return isum;
}

static inline float lq_legacy_term_iq4_nl(const void *wb, const block_q8_0 *x) {
    block_iq4_nl w;
    memcpy(&w, wb, sizeof w);
    const int32_t isum = lq_legacy_lut_isum(lq_kvalues_iq4nl, w.qs, x->qs);
    return (lq_fp16_to_fp32(w.d) * lq_fp16_to_fp32(x->d)) * (float)isum;
}

static inline float lq_legacy_term_mxfp4(const void *wb, const block_q8_0 *x) {
    block_mxfp4 w;
    memcpy(&w, wb, sizeof w);
    const int32_t isum = lq_legacy_lut_isum(lq_kvalues_mxfp4, w.qs, x->qs);
    return (lq_e8m0_to_fp32_half(w.e) * lq_fp16_to_fp32(x->d)) * (float)isum;
}

/* the fixed fold of the 16 partial sums (see ref/qdot_legacy_ref.c) */
static inline float lq_legacy_fold16(float *p) {
    for (int h = 8; h >= 1; h /= 2)
        for (int i = 0; i < h; i++) p[i] = p[i] + p[i + h];
    return p[0];
}

#endif
