/* Importance-weighted Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL rows, as ggml's
 * quantize_row_*_impl with quant_weights: each value weighs
 * qw[j] * sqrt(sigma2 + x[j]^2), sigma2 the row's (IQ4_NL: the block's)
 * mean square, then the weighted searches of quantize_imatrix_search.c. */
#include "quant/quantize_imatrix_internal.h"

#include <math.h>

#include "quant/blocks.h"
#include "quant/types.h"

/* sum x^2 / n over the whole row, summed in order as ggml does */
static float row_sigma2(const float *x, int64_t n)
{
    float sum_x2 = 0;
    for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
    return sum_x2 / n;
}

static void block_weights(const float *xb, const float *qw, float sigma2, int n, float *weight)
{
    for (int j = 0; j < n; ++j) weight[j] = qw[j] * sqrtf(sigma2 + xb[j] * xb[j]);
}

/* 32 levels (0..31) as Q5's low nibbles in qs and fifth bits in qh */
static void pack_q5(const uint8_t *L, uint8_t *qs, uint8_t *qh_out)
{
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        qs[j] = (uint8_t)((L[j] & 0x0F) | ((L[j + 16] & 0x0F) << 4));
        qh |= ((uint32_t)(L[j] & 0x10) >> 4) << j;
        qh |= ((uint32_t)(L[j + 16] & 0x10) >> 4) << (j + 16);
    }
    for (int k = 0; k < 4; k++) qh_out[k] = (uint8_t)(qh >> (8 * k));
}

void imq_q4_0_row(const float *x, void *y, int64_t n, const float *qw)
{
    block_q4_0 *b = y;
    const float sigma2 = row_sigma2(x, n);
    float weight[32];
    int8_t L[32];
    for (int64_t ib = 0; ib < n / 32; ++ib) {
        block_weights(x + 32 * ib, qw + 32 * ib, sigma2, 32, weight);
        const float d = imq_make_qx_quants(32, 8, x + 32 * ib, L, weight);
        b[ib].d = lq_fp32_to_fp16(d);
        for (int j = 0; j < 16; ++j) b[ib].qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
    }
}

void imq_q5_0_row(const float *x, void *y, int64_t n, const float *qw)
{
    block_q5_0 *b = y;
    const float sigma2 = row_sigma2(x, n);
    float weight[32];
    int8_t L[32];
    for (int64_t ib = 0; ib < n / 32; ++ib) {
        block_weights(x + 32 * ib, qw + 32 * ib, sigma2, 32, weight);
        const float d = imq_make_qx_quants(32, 16, x + 32 * ib, L, weight);
        b[ib].d = lq_fp32_to_fp16(d);
        pack_q5((const uint8_t *)L, b[ib].qs, b[ib].qh);
    }
}

/* Q4_1 (nmax 15) and Q5_1 (nmax 31): make_qkx3_quants per block; returns d
 * and the min through *m, levels in L */
static float qkx3_block(const float *xb, const float *qw, float sigma2, int nmax, uint8_t *L, float *m)
{
    float weight[32], min;
    uint8_t Laux[32];
    block_weights(xb, qw, sigma2, 32, weight);
    const float d = imq_make_qkx3_quants(32, nmax, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36);
    *m = -min;
    return d;
}

void imq_q4_1_row(const float *x, void *y, int64_t n, const float *qw)
{
    block_q4_1 *b = y;
    const float sigma2 = row_sigma2(x, n);
    uint8_t L[32];
    for (int64_t ib = 0; ib < n / 32; ++ib) {
        float m;
        const float d = qkx3_block(x + 32 * ib, qw + 32 * ib, sigma2, 15, L, &m);
        b[ib].d = lq_fp32_to_fp16(d);
        b[ib].m = lq_fp32_to_fp16(m);
        for (int j = 0; j < 16; ++j) b[ib].qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
    }
}

void imq_q5_1_row(const float *x, void *y, int64_t n, const float *qw)
{
    block_q5_1 *b = y;
    const float sigma2 = row_sigma2(x, n);
    uint8_t L[32];
    for (int64_t ib = 0; ib < n / 32; ++ib) {
        float m;
        const float d = qkx3_block(x + 32 * ib, qw + 32 * ib, sigma2, 31, L, &m);
        b[ib].d = lq_fp32_to_fp16(d);
        b[ib].m = lq_fp32_to_fp16(m);
        pack_q5(L, b[ib].qs, b[ib].qh);
    }
}

/* ------------------------------------------------------------- IQ4_NL */

static const int8_t k_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/* ggml's best_index_int8 over the IQ4_NL grid */
static int iq4nl_index(float v)
{
    if (v <= k_iq4nl[0]) return 0;
    if (v >= k_iq4nl[15]) return 15;
    int ml = 0, mu = 15;
    while (mu - ml > 1) {
        const int mav = (ml + mu) / 2;
        if (v < k_iq4nl[mav]) mu = mav;
        else ml = mav;
    }
    return v - k_iq4nl[mu - 1] < k_iq4nl[mu] - v ? mu - 1 : mu;
}

/* weighted fit of the grid levels picked with inverse scale id: sum w*q*x
 * and sum w*q*q (ggml's order: (w*q)*x) */
static void iq4nl_fit(const float *xb, const float *w, float id, float *sumqx, float *sumq2)
{
    float sqx = 0, sq2 = 0;
    for (int j = 0; j < 32; ++j) {
        const float q = k_iq4nl[iq4nl_index(id * xb[j])];
        sqx += w[j] * q * xb[j];
        sq2 += w[j] * q * q;
    }
    *sumqx = sqx;
    *sumq2 = sq2;
}

/* quantize_row_iq4_nl_impl(32, 32, ..., qw, ntry 7) for one block */
static void iq4nl_block(const float *xb, const float *qw, block_iq4_nl *b)
{
    float sigma2 = 0;
    for (int j = 0; j < 32; ++j) sigma2 += xb[j] * xb[j];
    sigma2 *= 2.f / 32;
    float weight[32];
    block_weights(xb, qw, sigma2, 32, weight);
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j) {
        const float ax = fabsf(xb[j]);
        if (ax > amax) {
            amax = ax;
            max = xb[j];
        }
    }
    float d = 0;
    if (amax >= IMQ_GROUP_MAX_EPS) {
        float sumqx, sumq2;
        iq4nl_fit(xb, weight, 1 / (-max / k_iq4nl[0]), &sumqx, &sumq2);
        d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
        float best = d * sumqx;
        for (int itry = -7; itry <= 7; ++itry) {
            iq4nl_fit(xb, weight, (itry + k_iq4nl[0]) / max, &sumqx, &sumq2);
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
    }
    b->d = lq_fp32_to_fp16(d);
    const float id = d ? 1 / d : 0;
    uint8_t L[32];
    for (int j = 0; j < 32; ++j) L[j] = (uint8_t)iq4nl_index(id * xb[j]);
    for (int j = 0; j < 16; ++j) b->qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
}

void imq_iq4_nl_row(const float *x, void *y, int64_t n, const float *qw)
{
    block_iq4_nl *b = y;
    for (int64_t ib = 0; ib < n / 32; ++ib) iq4nl_block(x + 32 * ib, qw + 32 * ib, &b[ib]);
}
