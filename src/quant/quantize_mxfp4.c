/* MXFP4 as ggml's quantize_row_mxfp4_ref: per 32 values a shared E8M0
 * exponent e = floor(log2(absmax)) - 2 + 127 (0 for an all-zero block), so
 * the largest E2M1 magnitude 6 covers absmax; each value takes the first
 * index of kvalues_mxfp4 (doubled E2M1) whose value times the halved scale
 * is nearest (strictly smaller error wins, so ties keep the lower index). */
#include "quant/quantize.h"

#include "quant/blocks.h"

#include <math.h>
#include <string.h>

static const int8_t kvalues_mxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

static float e8m0_to_fp32_half(uint8_t x) {
    uint32_t bits = x < 2 ? (UINT32_C(0x00200000) << x) : ((uint32_t)(x - 1) << 23);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static int best_index(float x, float e) {
    int best = 0;
    float best_err = fabsf(kvalues_mxfp4[0] * e - x);
    for (int i = 1; i < 16; i++) {
        const float err = fabsf(kvalues_mxfp4[i] * e - x);
        if (err < best_err) {
            best = i;
            best_err = err;
        }
    }
    return best;
}

void lq_quant_mxfp4_ref(const float *x, void *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_MXFP4; i++) {
        const float *xb = x + i * QK_MXFP4;
        float amax = 0.0f;
        for (int j = 0; j < QK_MXFP4; j++)
            if (amax < fabsf(xb[j])) amax = fabsf(xb[j]);
        /* ggml converts the float straight to uint8_t; x86 compilers do that
         * through a 32-bit integer, which this spells out (it matters only
         * for absmax below 2^-125, where the float is negative). */
        const uint8_t e = amax > 0.0f ? (uint8_t)(int32_t)(floorf(log2f(amax)) - 2 + 127) : 0;
        const float d = e8m0_to_fp32_half(e);
        block_mxfp4 b;
        b.e = e;
        for (int j = 0; j < QK_MXFP4 / 2; j++)
            b.qs[j] = (uint8_t)(best_index(xb[j], d) | (best_index(xb[j + QK_MXFP4 / 2], d) << 4));
        memcpy((uint8_t *)y + i * sizeof b, &b, sizeof b);
    }
}
