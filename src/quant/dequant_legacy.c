/* 32-value block formats to float, as ggml's dequantize_row_* do. Blocks are
 * read with memcpy: file data need not be aligned for the struct. */
#include "quant/blocks.h"
#include "quant/dequant.h"
#include "quant/types.h"

#include <string.h>

#define FP16(x) lq_fp16_to_fp32(x)

void lq_dequant_q4_0(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_0; i++) {
        block_q4_0 b;
        memcpy(&b, (const uint8_t *)src + i * sizeof b, sizeof b);
        const float d = FP16(b.d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[i * QK4_0 + j] = ((b.qs[j] & 0x0F) - 8) * d;
            y[i * QK4_0 + j + QK4_0 / 2] = ((b.qs[j] >> 4) - 8) * d;
        }
    }
}

void lq_dequant_q4_1(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_1; i++) {
        block_q4_1 b;
        memcpy(&b, (const uint8_t *)src + i * sizeof b, sizeof b);
        const float d = FP16(b.d), m = FP16(b.m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            y[i * QK4_1 + j] = (b.qs[j] & 0x0F) * d + m;
            y[i * QK4_1 + j + QK4_1 / 2] = (b.qs[j] >> 4) * d + m;
        }
    }
}

void lq_dequant_q5_0(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK5_0; i++) {
        block_q5_0 b;
        memcpy(&b, (const uint8_t *)src + i * sizeof b, sizeof b);
        const float d = FP16(b.d);
        uint32_t qh;
        memcpy(&qh, b.qh, 4);
        for (int j = 0; j < QK5_0 / 2; j++) {
            const uint8_t xh0 = (uint8_t)(((qh >> (j + 0)) << 4) & 0x10);
            const uint8_t xh1 = (uint8_t)(((qh >> (j + 12))) & 0x10);
            const int32_t x0 = ((b.qs[j] & 0x0F) | xh0) - 16;
            const int32_t x1 = ((b.qs[j] >> 4) | xh1) - 16;
            y[i * QK5_0 + j] = x0 * d;
            y[i * QK5_0 + j + QK5_0 / 2] = x1 * d;
        }
    }
}

void lq_dequant_q5_1(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK5_1; i++) {
        block_q5_1 b;
        memcpy(&b, (const uint8_t *)src + i * sizeof b, sizeof b);
        const float d = FP16(b.d), m = FP16(b.m);
        uint32_t qh;
        memcpy(&qh, b.qh, 4);
        for (int j = 0; j < QK5_1 / 2; j++) {
            const uint8_t xh0 = (uint8_t)(((qh >> (j + 0)) << 4) & 0x10);
            const uint8_t xh1 = (uint8_t)(((qh >> (j + 12))) & 0x10);
            const int x0 = (b.qs[j] & 0x0F) | xh0;
            const int x1 = (b.qs[j] >> 4) | xh1;
            y[i * QK5_1 + j] = x0 * d + m;
            y[i * QK5_1 + j + QK5_1 / 2] = x1 * d + m;
        }
    }
}

void lq_dequant_q8_0(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; i++) {
        block_q8_0 b;
        memcpy(&b, (const uint8_t *)src + i * sizeof b, sizeof b);
        const float d = FP16(b.d);
        for (int j = 0; j < QK8_0; j++) y[i * QK8_0 + j] = b.qs[j] * d;
    }
}

void lq_dequant_q8_1(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_1; i++) {
        block_q8_1 b;
        memcpy(&b, (const uint8_t *)src + i * sizeof b, sizeof b);
        const float d = FP16(b.d);
        for (int j = 0; j < QK8_1; j++) y[i * QK8_1 + j] = b.qs[j] * d;
    }
}

static const int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

void lq_dequant_iq4_nl(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_NL; i++) {
        block_iq4_nl b;
        memcpy(&b, (const uint8_t *)src + i * sizeof b, sizeof b);
        const float d = FP16(b.d);
        for (int j = 0; j < QK4_NL / 2; j++) {
            y[i * QK4_NL + j] = d * kvalues_iq4nl[b.qs[j] & 0xf];
            y[i * QK4_NL + j + QK4_NL / 2] = d * kvalues_iq4nl[b.qs[j] >> 4];
        }
    }
}

/* E2M1 values doubled, paired with a halved E8M0 scale (as ggml does). */
static const int8_t kvalues_mxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

static float e8m0_to_fp32_half(uint8_t x) {
    uint32_t bits = x < 2 ? (0x00200000u << x) : ((uint32_t)(x - 1) << 23);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

void lq_dequant_mxfp4(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_MXFP4; i++) {
        block_mxfp4 b;
        memcpy(&b, (const uint8_t *)src + i * sizeof b, sizeof b);
        const float d = e8m0_to_fp32_half(b.e);
        for (int j = 0; j < QK_MXFP4 / 2; j++) {
            y[i * QK_MXFP4 + j] = kvalues_mxfp4[b.qs[j] & 0x0f] * d;
            y[i * QK_MXFP4 + j + QK_MXFP4 / 2] = kvalues_mxfp4[b.qs[j] >> 4] * d;
        }
    }
}
