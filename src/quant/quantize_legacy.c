/* Reference quantizers for the legacy 32-value block types (Q4_0, Q4_1,
 * Q5_0, Q5_1, Q8_0, Q8_1) and IQ4_NL. Each follows ggml's
 * quantize_row_*_ref operation for operation (float, not double; same
 * rounding casts) so that the bytes match llama.cpp exactly. */
#include "quant/quantize.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "quant/blocks.h"
#include "quant/types.h"

/* Largest |v| of a block and the signed value that has it (first wins). */
static float block_absmax_signed(const float *x, int n, float *amax_out)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        const float v = x[j];
        if (amax < fabsf(v)) {
            amax = fabsf(v);
            max = v;
        }
    }
    *amax_out = amax;
    return max;
}

static void block_min_max(const float *x, int n, float *min_out, float *max_out)
{
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        const float v = x[j];
        if (v < min) min = v;
        if (v > max) max = v;
    }
    *min_out = min;
    *max_out = max;
}

static int min_int(int a, int b) { return a < b ? a : b; }

void lq_quant_q4_0_ref(const float *x, void *y, int64_t n)
{
    block_q4_0 *b = y; /* [n / 32] */
    const int qk = QK4_0;
    for (int64_t i = 0; i < n / qk; i++, x += qk) {
        float amax;
        const float max = block_absmax_signed(x, qk, &amax);
        const float d = max / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = lq_fp32_to_fp16(d);
        for (int j = 0; j < qk / 2; j++) {
            const float x0 = x[j] * id;
            const float x1 = x[qk / 2 + j] * id;
            /* truncating int8 cast of (v + 8.5) is ggml's rounding here */
            const int xi0 = min_int(15, (int8_t)(x0 + 8.5f));
            const int xi1 = min_int(15, (int8_t)(x1 + 8.5f));
            b[i].qs[j] = (uint8_t)(xi0 | (xi1 << 4));
        }
    }
}

void lq_quant_q4_1_ref(const float *x, void *y, int64_t n)
{
    block_q4_1 *b = y; /* [n / 32] */
    const int qk = QK4_1;
    for (int64_t i = 0; i < n / qk; i++, x += qk) {
        float min, max;
        block_min_max(x, qk, &min, &max);
        const float d = (max - min) / ((1 << 4) - 1);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = lq_fp32_to_fp16(d);
        b[i].m = lq_fp32_to_fp16(min);
        for (int j = 0; j < qk / 2; j++) {
            const float x0 = (x[j] - min) * id;
            const float x1 = (x[qk / 2 + j] - min) * id;
            const int xi0 = min_int(15, (int8_t)(x0 + 0.5f));
            const int xi1 = min_int(15, (int8_t)(x1 + 0.5f));
            b[i].qs[j] = (uint8_t)(xi0 | (xi1 << 4));
        }
    }
}

/* Low nibbles into qs, the fifth bits into the 32-bit qh (little endian). */
static void pack_5bit(const int xi[QK5_0], uint8_t qs[QK5_0 / 2], uint8_t qh_out[4])
{
    uint32_t qh = 0;
    for (int j = 0; j < QK5_0 / 2; j++) {
        const int xi0 = xi[j], xi1 = xi[QK5_0 / 2 + j];
        qs[j] = (uint8_t)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
        qh |= ((uint32_t)(xi0 & 0x10) >> 4) << j;
        qh |= ((uint32_t)(xi1 & 0x10) >> 4) << (j + QK5_0 / 2);
    }
    for (int k = 0; k < 4; k++) qh_out[k] = (uint8_t)(qh >> (8 * k));
}

void lq_quant_q5_0_ref(const float *x, void *y, int64_t n)
{
    block_q5_0 *b = y; /* [n / 32] */
    const int qk = QK5_0;
    for (int64_t i = 0; i < n / qk; i++, x += qk) {
        float amax;
        const float max = block_absmax_signed(x, qk, &amax);
        const float d = max / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = lq_fp32_to_fp16(d);
        int xi[QK5_0];
        for (int j = 0; j < qk; j++) xi[j] = min_int(31, (int8_t)(x[j] * id + 16.5f));
        pack_5bit(xi, b[i].qs, b[i].qh);
    }
}

void lq_quant_q5_1_ref(const float *x, void *y, int64_t n)
{
    block_q5_1 *b = y; /* [n / 32] */
    const int qk = QK5_1;
    for (int64_t i = 0; i < n / qk; i++, x += qk) {
        float min, max;
        block_min_max(x, qk, &min, &max);
        const float d = (max - min) / ((1 << 5) - 1);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = lq_fp32_to_fp16(d);
        b[i].m = lq_fp32_to_fp16(min);
        int xi[QK5_1];
        for (int j = 0; j < qk; j++) xi[j] = (uint8_t)((x[j] - min) * id + 0.5f);
        pack_5bit(xi, b[i].qs, b[i].qh);
    }
}

/* roundf (halves away from zero) for |v| < 2^23 without libm's call, the
 * larger part of the Q8 quantizers' time; a - t is exact. The comparison
 * is added as a number, not branched on: on real activations that branch
 * is a coin toss, and its misses made quantizing a row 5x slower. */
static inline float round_half_away(float v)
{
    const float a = fabsf(v), t = (float)(int32_t)a;
    return copysignf(t + (float)(a - t >= 0.5f), v);
}

void lq_quant_q8_0_ref(const float *x, void *y, int64_t n)
{
    block_q8_0 *b = y; /* [n / 32] */
    const int qk = QK8_0;
    for (int64_t i = 0; i < n / qk; i++, x += qk) {
        float amax;
        (void)block_absmax_signed(x, qk, &amax);
        const float d = amax / ((1 << 7) - 1);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = lq_fp32_to_fp16(d);
        for (int j = 0; j < qk; j++) b[i].qs[j] = (int8_t)round_half_away(x[j] * id);
    }
}

void lq_quant_q8_1_ref(const float *x, void *y, int64_t n)
{
    block_q8_1 *b = y; /* [n / 32] */
    const int qk = QK8_1;
    for (int64_t i = 0; i < n / qk; i++, x += qk) {
        float amax;
        (void)block_absmax_signed(x, qk, &amax);
        const float d = amax / ((1 << 7) - 1);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = lq_fp32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < qk; j++) {
            b[i].qs[j] = (int8_t)round_half_away(x[j] * id);
            sum += b[i].qs[j];
        }
        b[i].s = lq_fp32_to_fp16((float)sum * d); /* ggml: sum * d in float */
    }
}

/* ---- IQ4_NL: non-linear 4-bit grid, scale refined by a small search ---- */

static const int8_t kvalues_iq4nl[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};

#define IQ4_GROUP_MAX_EPS 1e-15f

/* Index of the grid value nearest to v (ggml's best_index_int8). */
static int best_index_iq4nl(float v)
{
    const int8_t *val = kvalues_iq4nl;
    if (v <= val[0]) return 0;
    if (v >= val[15]) return 15;
    int ml = 0, mu = 15;
    while (mu - ml > 1) {
        const int mav = (ml + mu) / 2;
        if (v < val[mav]) mu = mav;
        else ml = mav;
    }
    return v - val[mu - 1] < val[mu] - v ? mu - 1 : mu;
}

/* One block as ggml's quantize_row_iq4_nl_impl with ntry = -1 (what the _ref
 * entry point passes): scale max / -127, pick grid indices, then the
 * x^2-weighted least-squares scale for those indices. No scale search.
 * For an (almost) all-zero block ggml returns scale 0 and leaves L as the
 * previous block set it; L is kept across blocks here to match its bytes. */
static float iq4nl_block(const float *x, uint8_t L[QK4_NL])
{
    float amax;
    const float max = block_absmax_signed(x, QK4_NL, &amax);
    if (amax < IQ4_GROUP_MAX_EPS) return 0.0f;
    const float d = max / kvalues_iq4nl[0];
    const float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < QK4_NL; j++) {
        const int l = best_index_iq4nl(id * x[j]);
        L[j] = (uint8_t)l;
        const float q = kvalues_iq4nl[l];
        const float w = x[j] * x[j];
        sumqx += w * q * x[j];
        sumq2 += w * q * q;
    }
    return sumqx / sumq2;
}

void lq_quant_iq4_nl_ref(const float *x, void *y, int64_t n)
{
    block_iq4_nl *b = y; /* [n / 32] */
    uint8_t L[QK4_NL] = {0}; /* ggml: uninitialised until the first non-zero block */
    for (int64_t i = 0; i < n / QK4_NL; i++, x += QK4_NL) {
        const float d = iq4nl_block(x, L);
        b[i].d = lq_fp32_to_fp16(d);
        for (int j = 0; j < QK4_NL / 2; j++) b[i].qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
    }
}

/* One block as quantize_row_iq4_nl_impl with ntry = 7 and no importance
 * weights (what llama-quantize's quantize_iq4_nl runs): the least-squares
 * scale from max / 127, then 15 trial scales (itry - 127) / max, keeping the
 * one with the best weighted fit; indices are then re-picked for the fp16-free
 * float scale. Returns the scale; L gets the indices. */
static float iq4nl_block_search(const float *x, uint8_t L[QK4_NL])
{
    float amax;
    const float max = block_absmax_signed(x, QK4_NL, &amax);
    if (amax < IQ4_GROUP_MAX_EPS) {
        for (int j = 0; j < QK4_NL; j++) L[j] = (uint8_t)best_index_iq4nl(0.0f);
        return 0.0f;
    }
    float d = -max / kvalues_iq4nl[0];
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < QK4_NL; j++) {
        const float q = kvalues_iq4nl[best_index_iq4nl(id * x[j])];
        const float w = x[j] * x[j];
        sumqx += w * q * x[j];
        sumq2 += w * q * q;
    }
    d = sumqx / sumq2;
    float best = d * sumqx;
    for (int itry = -7; itry <= 7; itry++) {
        id = (itry + kvalues_iq4nl[0]) / max;
        sumqx = sumq2 = 0;
        for (int j = 0; j < QK4_NL; j++) {
            const float q = kvalues_iq4nl[best_index_iq4nl(id * x[j])];
            const float w = x[j] * x[j];
            sumqx += w * q * x[j];
            sumq2 += w * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    id = d ? 1 / d : 0;
    for (int j = 0; j < QK4_NL; j++) L[j] = (uint8_t)best_index_iq4nl(id * x[j]);
    return d;
}

void lq_quant_iq4_nl(const float *x, void *y, int64_t n)
{
    block_iq4_nl *b = y; /* [n / 32] */
    uint8_t L[QK4_NL];
    for (int64_t i = 0; i < n / QK4_NL; i++, x += QK4_NL) {
        const float d = iq4nl_block_search(x, L);
        b[i].d = lq_fp32_to_fp16(d);
        for (int j = 0; j < QK4_NL / 2; j++) b[i].qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
    }
}
