/* Importance-weighted K-quant rows (Q2_K..Q6_K), as ggml's
 * quantize_row_q*_K_impl with quant_weights: sub-block scales (and mins)
 * from the weighted searches, then the super-block scales of those scales
 * by make_qp_quants (Q2_K, Q4_K, Q5_K) or make_qx_quants (Q3_K) weighted by
 * each sub-block's total weight, then levels re-picked with the stored
 * scales. Q6_K weighs by the imatrix alone (no sigma2 term), as ggml does. */
#include "quant/quantize_imatrix_internal.h"

#include <math.h>

#include "quant/blocks.h"
#include "quant/types.h"

#define QK QK_K

/* sum x^2 of a super-block, in order */
static float sum_sq(const float *x)
{
    float s = 0;
    for (int j = 0; j < QK; ++j) s += x[j] * x[j];
    return s;
}

/* weights qw * sqrt(sigma2 + x^2) of n values; returns their sum */
static float sub_weights(const float *x, const float *qw, float sigma2, int n, float *w)
{
    float sumw = 0;
    for (int l = 0; l < n; ++l) w[l] = qw[l] * sqrtf(sigma2 + x[l] * x[l]);
    for (int l = 0; l < n; ++l) sumw += w[l];
    return sumw;
}

/* four 2-bit planes: per 128 values, byte l holds l, l+32, l+64, l+96 */
static void pack_2bit(const uint8_t *L, uint8_t *qs)
{
    for (int j = 0; j < QK; j += 128)
        for (int l = 0; l < 32; ++l)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

/* ----------------------------------------------------------------- Q2_K */

void imq_q2_k_row(const float *x, void *vy, int64_t n, const float *qw)
{
    block_q2_K *y = vy;
    uint8_t L[QK], Laux[16], Ls[QK / 16], Lm[QK / 16];
    float mins[QK / 16], scales[QK / 16], sw[QK / 16], weight[16];
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        const float sigma2 = sum_sq(x) / QK;
        for (int j = 0; j < QK / 16; ++j) {
            sw[j] = sub_weights(x + 16 * j, qw + QK * i + 16 * j, sigma2, 16, weight);
            scales[j] = imq_make_qkx3_quants(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux, -0.9f, 0.05f, 36);
        }
        float dm = imq_make_qp_quants(QK / 16, 15, scales, Ls, sw);
        float mm = imq_make_qp_quants(QK / 16, 15, mins, Lm, sw);
        y[i].d = lq_fp32_to_fp16(dm);
        y[i].dmin = lq_fp32_to_fp16(mm);
        dm = lq_fp16_to_fp32(y[i].d);
        mm = lq_fp16_to_fp32(y[i].dmin);
        for (int j = 0; j < QK / 16; ++j) y[i].scales[j] = (uint8_t)(Ls[j] | (Lm[j] << 4));
        for (int j = 0; j < QK / 16; ++j) {
            const float d = dm * (y[i].scales[j] & 0xF);
            if (!d) continue;
            const float m = mm * (y[i].scales[j] >> 4);
            for (int ii = 0; ii < 16; ++ii) {
                const int l = imq_nearest_int((x[16 * j + ii] + m) / d);
                L[16 * j + ii] = (uint8_t)imq_max_i(0, imq_min_i(3, l));
            }
        }
        pack_2bit(L, y[i].qs);
    }
}

/* ----------------------------------------------------------------- Q3_K */

/* signed 6-bit scale j (-32..31) from Q3_K's packed scales */
static int q3_scale(const uint8_t *s, int j)
{
    int8_t sc = (int8_t)(j < 8 ? s[j] & 0xF : s[j - 8] >> 4);
    return (int8_t)((sc | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32);
}

void imq_q3_k_row(const float *x, void *vy, int64_t n, const float *qw)
{
    block_q3_K *y = vy;
    int8_t L[QK], Ls[QK / 16];
    float scales[QK / 16], weight[16], sw[QK / 16];
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        const float sigma2 = 2 * sum_sq(x) / QK;
        for (int j = 0; j < QK / 16; ++j) {
            sw[j] = sub_weights(x + 16 * j, qw + QK * i + 16 * j, sigma2, 16, weight);
            scales[j] = imq_make_qx_quants(16, 4, x + 16 * j, L + 16 * j, weight);
        }
        memset(y[i].scales, 0, 12);
        const float d_block = imq_make_qx_quants(QK / 16, 32, scales, Ls, sw);
        for (int j = 0; j < QK / 16; ++j) {
            const int l = Ls[j]; /* 0..63 */
            if (j < 8) y[i].scales[j] = (uint8_t)(l & 0xF);
            else y[i].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
            y[i].scales[j % 4 + 8] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
        }
        y[i].d = lq_fp32_to_fp16(d_block);
        for (int j = 0; j < QK / 16; ++j) {
            const float d = lq_fp16_to_fp32(y[i].d) * q3_scale(y[i].scales, j);
            if (!d) continue;
            for (int ii = 0; ii < 16; ++ii) {
                const int l = imq_nearest_int(x[16 * j + ii] / d);
                L[16 * j + ii] = (int8_t)(imq_max_i(-4, imq_min_i(3, l)) + 4);
            }
        }
        /* high bit of value 32*b + m into bit b of hmask[m] */
        memset(y[i].hmask, 0, QK / 8);
        for (int j = 0; j < QK; ++j) {
            if (L[j] > 3) {
                y[i].hmask[j % (QK / 8)] |= (uint8_t)(1 << (j / (QK / 8)));
                L[j] = (int8_t)(L[j] - 4);
            }
        }
        pack_2bit((const uint8_t *)L, y[i].qs);
    }
}

/* ------------------------------------------------------- Q4_K and Q5_K */

/* Shared part of Q4_K (nmax 15) and Q5_K (nmax 31): 32-value sub-block
 * scales and mins, their 6-bit codes by make_qp_quants, d/dmin, levels. */
static void q45_k(const float *x, const float *qw, int nmax, uint8_t *sc_out, uint16_t *d_out, uint16_t *dmin_out,
                  uint8_t *L)
{
    uint8_t Laux[32], Ls[QK / 32], Lm[QK / 32];
    float weights[32], sw[QK / 32], mins[QK / 32], scales[QK / 32];
    const float sigma2 = 2 * sum_sq(x) / QK;
    for (int j = 0; j < QK / 32; ++j) {
        sw[j] = sub_weights(x + 32 * j, qw + 32 * j, sigma2, 32, weights);
        scales[j] = imq_make_qkx3_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.9f, 0.05f, 36);
    }
    const float d_block = imq_make_qp_quants(QK / 32, 63, scales, Ls, sw);
    const float m_block = imq_make_qp_quants(QK / 32, 63, mins, Lm, sw);
    for (int j = 0; j < QK / 32; ++j) {
        const uint8_t ls = Ls[j], lm = Lm[j]; /* make_qp_quants keeps them <= 63 */
        if (j < 4) {
            sc_out[j] = ls;
            sc_out[j + 4] = lm;
        } else {
            sc_out[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            sc_out[j - 4] |= (uint8_t)((ls >> 4) << 6);
            sc_out[j - 0] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    *d_out = lq_fp32_to_fp16(d_block);
    *dmin_out = lq_fp32_to_fp16(m_block);
    for (int j = 0; j < QK / 32; ++j) {
        uint8_t sc, m;
        if (j < 4) {
            sc = sc_out[j] & 63;
            m = sc_out[j + 4] & 63;
        } else {
            sc = (uint8_t)((sc_out[j + 4] & 0xF) | ((sc_out[j - 4] >> 6) << 4));
            m = (uint8_t)((sc_out[j + 4] >> 4) | ((sc_out[j] >> 6) << 4));
        }
        const float d = lq_fp16_to_fp32(*d_out) * sc;
        if (!d) continue;
        const float dm = lq_fp16_to_fp32(*dmin_out) * m;
        for (int ii = 0; ii < 32; ++ii) {
            const int l = imq_nearest_int((x[32 * j + ii] + dm) / d);
            L[32 * j + ii] = (uint8_t)imq_max_i(0, imq_min_i(nmax, l));
        }
    }
}

void imq_q4_k_row(const float *x, void *vy, int64_t n, const float *qw)
{
    block_q4_K *y = vy;
    uint8_t L[QK];
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        memset(y[i].scales, 0, K_SCALE_SIZE);
        q45_k(x, qw + QK * i, 15, y[i].scales, &y[i].d, &y[i].dmin, L);
        uint8_t *q = y[i].qs;
        for (int j = 0; j < QK; j += 64, q += 32)
            for (int l = 0; l < 32; ++l) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
    }
}

void imq_q5_k_row(const float *x, void *vy, int64_t n, const float *qw)
{
    block_q5_K *y = vy;
    uint8_t L[QK];
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        memset(y[i].scales, 0, K_SCALE_SIZE);
        q45_k(x, qw + QK * i, 31, y[i].scales, &y[i].d, &y[i].dmin, L);
        uint8_t *qh = y[i].qh, *ql = y[i].qs;
        memset(qh, 0, QK / 8);
        for (int k = 0, shift = 0; k < QK; k += 64, shift += 2, ql += 32) {
            for (int j = 0; j < 32; ++j) {
                const int l1 = L[k + j], l2 = L[k + j + 32];
                qh[j] |= (uint8_t)((l1 > 15) << shift | (l2 > 15) << (shift + 1));
                ql[j] = (uint8_t)((l1 & 0xF) | ((l2 & 0xF) << 4));
            }
        }
    }
}

/* ----------------------------------------------------------------- Q6_K */

void imq_q6_k_row(const float *x, void *vy, int64_t n, const float *qw)
{
    block_q6_K *y = vy;
    int8_t L[QK];
    float scales[QK / 16];
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < QK / 16; ++ib) {
            const float scale = imq_make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, qw + QK * i + 16 * ib);
            scales[ib] = scale;
            if (fabsf(scale) > max_abs_scale) {
                max_abs_scale = fabsf(scale);
                max_scale = scale;
            }
        }
        if (max_abs_scale < IMQ_GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -128.f / max_scale;
        y[i].d = lq_fp32_to_fp16(1 / iscale);
        for (int ib = 0; ib < QK / 16; ++ib) y[i].scales[ib] = (int8_t)imq_min_i(127, imq_nearest_int(iscale * scales[ib]));
        for (int j = 0; j < QK / 16; ++j) {
            const float d = lq_fp16_to_fp32(y[i].d) * y[i].scales[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ++ii) {
                const int l = imq_nearest_int(x[16 * j + ii] / d);
                L[16 * j + ii] = (int8_t)(imq_max_i(-32, imq_min_i(31, l)) + 32);
            }
        }
        uint8_t *ql = y[i].ql, *qh = y[i].qh;
        for (int j = 0; j < QK; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; ++l) {
                ql[l + 0] = (uint8_t)((L[j + l] & 0xF) | ((L[j + l + 64] & 0xF) << 4));
                ql[l + 32] = (uint8_t)((L[j + l + 32] & 0xF) | ((L[j + l + 96] & 0xF) << 4));
                qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                  ((L[j + l + 96] >> 4) << 6));
            }
        }
    }
}
