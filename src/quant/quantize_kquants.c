/* Reference quantizers for the 256-value K-quant super-blocks (Q2_K..Q8_K).
 * Each follows ggml's quantize_row_*_K_ref and its scale searches
 * (make_qx_quants, make_q3_quants, make_qkx2_quants) operation for
 * operation: float arithmetic in the same order, the same magic-number
 * rounding, the same iteration counts, so the bytes match llama.cpp. */
#include "quant/quantize.h"
#include "quant/quantize_imatrix_internal.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "quant/blocks.h"
#include "quant/types.h"

/* ggml's GROUP_MAX_EPS: groups whose largest |x| is below it count as zero. */
#define KQ_GROUP_MAX_EPS 1e-15f

static inline int kq_min_i(int a, int b) { return a < b ? a : b; }
static inline int kq_max_i(int a, int b) { return a > b ? a : b; }

/* Round to nearest (ties to even) through the 1.5*2^23 trick, exactly as
 * ggml's nearest_int (valid for |v| <= 2^22; ggml does not check either). */
static inline int kq_nearest_int(float v)
{
    float val = v + 12582912.f;
    int i;
    memcpy(&i, &val, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* The value of largest magnitude (sign kept); *amax gets its magnitude. */
static float kq_signed_absmax(int n, const float *x, float *amax)
{
    float max = 0, am = 0;
    for (int i = 0; i < n; ++i) {
        float ax = fabsf(x[i]);
        if (ax > am) { am = ax; max = x[i]; }
    }
    *amax = am;
    return max;
}

/* Levels l = clamp(round(iscale * x), -nmax, nmax-1) and their x^2-weighted
 * sums sum w*x*l and sum w*l*l. L (may be NULL) gets l + offset. */
static void kq_level_sums(int n, int nmax, const float *x, float iscale, int8_t *L, int offset, float *sumlx,
                          float *suml2)
{
    float slx = 0, sl2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = kq_nearest_int(iscale * x[i]);
        l = kq_max_i(-nmax, kq_min_i(nmax - 1, l));
        if (L) L[i] = (int8_t)(l + offset);
        float w = x[i] * x[i];
        slx += w * x[i] * l;
        sl2 += w * l * l;
    }
    *sumlx = slx;
    *suml2 = sl2;
}

/* Signed symmetric levels in [-nmax, nmax-1] for n values with weights
 * x^2 (ggml's make_qx_quants with rmse_type 1 and no importance): tries 19
 * scales around nmax/max and keeps the best weighted fit. L gets l + nmax. */
static float kq_make_qx_quants(int n, int nmax, const float *x, int8_t *L)
{
    float amax, max = kq_signed_absmax(n, x, &amax);
    if (amax < KQ_GROUP_MAX_EPS) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    float sumlx, suml2;
    kq_level_sums(n, nmax, x, -nmax / max, L, nmax, &sumlx, &suml2);
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        float iscale = -(nmax + 0.1f * is) / max;
        kq_level_sums(n, nmax, x, iscale, NULL, 0, &sumlx, &suml2);
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            kq_level_sums(n, nmax, x, iscale, L, nmax, &sumlx, &suml2); /* same sums, now keep L */
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* ggml's make_q3_quants with do_rmse: start from nmax/max, then up to 5
 * passes of coordinate descent on each level (weights x^2). L gets l + nmax. */
static float kq_make_q3_quants(int n, int nmax, const float *x, int8_t *L)
{
    float amax, max = kq_signed_absmax(n, x, &amax);
    if (amax < KQ_GROUP_MAX_EPS) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    float sumlx, suml2;
    kq_level_sums(n, nmax, x, -nmax / max, L, 0, &sumlx, &suml2);
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * L[i];
            if (slx > 0) {
                float sl2 = suml2 - w * L[i] * L[i];
                int new_l = kq_nearest_int(x[i] * sl2 / slx);
                new_l = kq_max_i(-nmax, kq_min_i(nmax - 1, new_l));
                if (new_l != L[i]) {
                    slx += w * x[i] * new_l;
                    sl2 += w * new_l * new_l;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; ++i) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

float lq_quant_fit_error(int n, const float *x, const float *w, const uint8_t *L, float scale, float min,
                         bool use_mad)
{
    float err = 0;
    for (int i = 0; i < n; ++i) {
        float diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        err += w[i] * diff;
    }
    return err;
}

/* Asymmetric levels in [0, nmax] with a min (ggml's make_qkx2_quants): a
 * weighted least-squares fit of scale and min for nstep+1 trial scales.
 * Returns the scale; *the_min gets -min (>= 0). Laux: n bytes of scratch. */
static float kq_make_qkx2_quants(int n, int nmax, const float *x, const float *weights,
                                 uint8_t *L, float *the_min, uint8_t *Laux,
                                 float rmin, float rdelta, int nstep, bool use_mad)
{
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    for (int i = 0; i < n; ++i) {
        int l = kq_nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)kq_max_i(0, kq_min_i(nmax, l));
    }
    float best_error = lq_quant_fit_error(n, x, weights, L, scale, min, use_mad);
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            int l = kq_nearest_int(iscale * (x[i] - min));
            l = kq_max_i(0, kq_min_i(nmax, l));
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = lq_quant_fit_error(n, x, weights, Laux, this_scale, this_min, use_mad);
            if (cur_error < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* 6-bit scale and min of sub-block j from the packed 12-byte K_SCALE array. */
static inline void kq_get_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

/* Packs four 2-bit planes: per 128 values, byte l holds values l, l+32,
 * l+64, l+96 at bit offsets 0, 2, 4, 6. L: 256 values, qs: 64 bytes. */
static void kq_pack_2bit(const uint8_t *L, uint8_t *qs)
{
    for (int j = 0; j < QK_K; j += 128)
        for (int l = 0; l < 32; ++l)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                      (L[j + l + 96] << 6));
}

/* ----------------------------------------------------------------- Q8_K */

void lq_quant_q8_k_ref(const float *x, void *vy, int64_t n)
{
    block_q8_K *y = vy;
    const int64_t nb = n / QK_K;
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        float amax, max = kq_signed_absmax(QK_K, x, &amax);
        if (!amax) {
            /* ggml leaves bsums unwritten here; zero them to be deterministic */
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; ++j) {
            int v = kq_nearest_int(iscale * x[j]);
            y[i].qs[j] = (int8_t)kq_min_i(127, v);
        }
        for (int j = 0; j < QK_K / 16; ++j) {
            int sum = 0;
            for (int ii = 0; ii < 16; ++ii) sum += y[i].qs[j * 16 + ii];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

/* ----------------------------------------------------------------- Q6_K */

static void q6_k_pack(const int8_t *L, block_q6_K *b)
{
    uint8_t *ql = b->ql, *qh = b->qh;
    for (int j = 0; j < QK_K; j += 128) {
        for (int l = 0; l < 32; ++l) {
            const uint8_t q1 = L[j + l + 0] & 0xF;
            const uint8_t q2 = L[j + l + 32] & 0xF;
            const uint8_t q3 = L[j + l + 64] & 0xF;
            const uint8_t q4 = L[j + l + 96] & 0xF;
            ql[l + 0] = (uint8_t)(q1 | (q3 << 4));
            ql[l + 32] = (uint8_t)(q2 | (q4 << 4));
            qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                              ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
        }
        ql += 64;
        qh += 32;
    }
}

void lq_quant_q6_k_ref(const float *x, void *vy, int64_t n)
{
    block_q6_K *y = vy;
    const int64_t nb = n / QK_K;
    int8_t L[QK_K];          /* levels 0..63 */
    float scales[QK_K / 16]; /* per 16-value sub-block */
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < QK_K / 16; ++ib) {
            const float scale = kq_make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
            scales[ib] = scale;
            const float abs_scale = fabsf(scale);
            if (abs_scale > max_abs_scale) {
                max_abs_scale = abs_scale;
                max_scale = scale;
            }
        }
        if (max_abs_scale < KQ_GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof y[i]);
            y[i].d = lq_fp32_to_fp16(0.f);
            continue;
        }
        float iscale = -128.f / max_scale;
        y[i].d = lq_fp32_to_fp16(1 / iscale);
        for (int ib = 0; ib < QK_K / 16; ++ib)
            y[i].scales[ib] = (int8_t)kq_min_i(127, kq_nearest_int(iscale * scales[ib]));
        for (int j = 0; j < QK_K / 16; ++j) {
            float d = lq_fp16_to_fp32(y[i].d) * y[i].scales[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ++ii) {
                int l = kq_nearest_int(x[16 * j + ii] / d);
                l = kq_max_i(-32, kq_min_i(31, l));
                L[16 * j + ii] = (int8_t)(l + 32);
            }
        }
        q6_k_pack(L, &y[i]);
    }
}

/* ------------------------------------------------------- Q4_K and Q5_K */

/* Shared first half of Q4_K/Q5_K: per 32-value sub-block scale/min search,
 * 6-bit packing of scales and mins, super-block d/dmin, then the final
 * levels in [0, nmax] with the quantized scales. L: 256 levels out. */
static void q45_k_scales_and_levels(const float *x, int nmax, float rmin, float rdelta,
                                    int nstep, uint8_t *scales_out, uint16_t *d_out,
                                    uint16_t *dmin_out, uint8_t *L)
{
    uint8_t Laux[32];
    float weights[32];
    float mins[QK_K / 32], scales[QK_K / 32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; ++j) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; ++l) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = kq_make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j],
                                        Laux, rmin, rdelta, nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < QK_K / 32; ++j) {
        uint8_t ls = (uint8_t)kq_nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)kq_nearest_int(inv_min * mins[j]);
        ls = ls < 63 ? ls : 63;
        lm = lm < 63 ? lm : 63;
        if (j < 4) {
            scales_out[j] = ls;
            scales_out[j + 4] = lm;
        } else {
            scales_out[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            scales_out[j - 4] |= (uint8_t)((ls >> 4) << 6);
            scales_out[j - 0] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    *d_out = lq_fp32_to_fp16(max_scale / 63.f);
    *dmin_out = lq_fp32_to_fp16(max_min / 63.f);
    for (int j = 0; j < QK_K / 32; ++j) {
        uint8_t sc, m;
        kq_get_scale_min_k4(j, scales_out, &sc, &m);
        const float d = lq_fp16_to_fp32(*d_out) * sc;
        if (!d) continue;
        const float dm = lq_fp16_to_fp32(*dmin_out) * m;
        for (int ii = 0; ii < 32; ++ii) {
            int l = kq_nearest_int((x[32 * j + ii] + dm) / d);
            L[32 * j + ii] = (uint8_t)kq_max_i(0, kq_min_i(nmax, l));
        }
    }
}

void lq_quant_q4_k_ref(const float *x, void *vy, int64_t n)
{
    block_q4_K *y = vy;
    const int64_t nb = n / QK_K;
    uint8_t L[QK_K]; /* levels 0..15 */
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        q45_k_scales_and_levels(x, 15, -1.f, 0.1f, 20, y[i].scales, &y[i].d, &y[i].dmin, L);
        uint8_t *q = y[i].qs;
        for (int j = 0; j < QK_K; j += 64) {
            for (int l = 0; l < 32; ++l) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
            q += 32;
        }
    }
}

void lq_quant_q5_k_ref(const float *x, void *vy, int64_t n)
{
    block_q5_K *y = vy;
    const int64_t nb = n / QK_K;
    uint8_t L[QK_K]; /* levels 0..31 */
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        q45_k_scales_and_levels(x, 31, -0.5f, 0.1f, 15, y[i].scales, &y[i].d, &y[i].dmin, L);
        uint8_t *qh = y[i].qh, *ql = y[i].qs;
        memset(qh, 0, QK_K / 8);
        uint8_t m1 = 1, m2 = 2;
        for (int k = 0; k < QK_K; k += 64) {
            for (int j = 0; j < 32; ++j) {
                int l1 = L[k + j];
                if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
                int l2 = L[k + j + 32];
                if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
                ql[j] = (uint8_t)(l1 | (l2 << 4));
            }
            m1 = (uint8_t)(m1 << 2);
            m2 = (uint8_t)(m2 << 2);
            ql += 32;
        }
    }
}

/* ----------------------------------------------------------------- Q3_K */

/* Signed 6-bit scale j (-32..31) from Q3_K's packed 12-byte scales. */
static int q3_k_scale(const uint8_t *s, int j)
{
    int8_t sc = (int8_t)(j < 8 ? s[j] & 0xF : s[j - 8] >> 4);
    sc = (int8_t)((sc | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32);
    return sc;
}

/* Q3_K high bits: bit b of hmask[m] is the high bit of value 32*b + m. */
static void q3_k_pack(uint8_t *L, block_q3_K *b)
{
    memset(b->hmask, 0, QK_K / 8);
    int m = 0;
    uint8_t hm = 1;
    for (int j = 0; j < QK_K; ++j) {
        if (L[j] > 3) {
            b->hmask[m] |= hm;
            L[j] -= 4;
        }
        if (++m == QK_K / 8) {
            m = 0;
            hm = (uint8_t)(hm << 1);
        }
    }
    kq_pack_2bit(L, b->qs);
}

void lq_quant_q3_k_ref(const float *x, void *vy, int64_t n)
{
    block_q3_K *y = vy;
    const int64_t nb = n / QK_K;
    int8_t L[QK_K];          /* levels 0..7 */
    float scales[QK_K / 16]; /* per 16-value sub-block */
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        float max_scale = 0, amax = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            scales[j] = kq_make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
            float scale = fabsf(scales[j]);
            if (scale > amax) { amax = scale; max_scale = scales[j]; }
        }
        memset(y[i].scales, 0, 12);
        if (max_scale) {
            float iscale = -32.f / max_scale;
            for (int j = 0; j < QK_K / 16; ++j) {
                int8_t l = (int8_t)kq_nearest_int(iscale * scales[j]);
                l = (int8_t)(kq_max_i(-32, kq_min_i(31, l)) + 32);
                if (j < 8) y[i].scales[j] = l & 0xF;
                else y[i].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
                l = (int8_t)(l >> 4);
                y[i].scales[j % 4 + 8] |= (uint8_t)(l << (2 * (j / 4)));
            }
            y[i].d = lq_fp32_to_fp16(1 / iscale);
        } else {
            y[i].d = lq_fp32_to_fp16(0.f);
        }
        for (int j = 0; j < QK_K / 16; ++j) {
            float d = lq_fp16_to_fp32(y[i].d) * q3_k_scale(y[i].scales, j);
            if (!d) continue;
            for (int ii = 0; ii < 16; ++ii) {
                int l = kq_nearest_int(x[16 * j + ii] / d);
                l = kq_max_i(-4, kq_min_i(3, l));
                L[16 * j + ii] = (int8_t)(l + 4);
            }
        }
        q3_k_pack((uint8_t *)L, &y[i]);
    }
}

/* ----------------------------------------------------------------- Q2_K */

void lq_quant_q2_k_ref(const float *x, void *vy, int64_t n)
{
    block_q2_K *y = vy;
    const int64_t nb = n / QK_K;
    uint8_t L[QK_K]; /* levels 0..3 */
    uint8_t Laux[16];
    float weights[16];
    float mins[QK_K / 16], scales[QK_K / 16];
    const float q4scale = 15.f;
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            for (int l = 0; l < 16; ++l) weights[l] = fabsf(x[16 * j + l]);
            scales[j] = kq_make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j],
                                            Laux, -0.5f, 0.1f, 15, true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0) {
            float iscale = q4scale / max_scale;
            for (int j = 0; j < QK_K / 16; ++j)
                y[i].scales[j] = (uint8_t)kq_nearest_int(iscale * scales[j]);
            y[i].d = lq_fp32_to_fp16(max_scale / q4scale);
        } else {
            memset(y[i].scales, 0, sizeof y[i].scales);
            y[i].d = lq_fp32_to_fp16(0.f);
        }
        if (max_min > 0) {
            float iscale = q4scale / max_min;
            for (int j = 0; j < QK_K / 16; ++j)
                y[i].scales[j] |= (uint8_t)(kq_nearest_int(iscale * mins[j]) << 4);
            y[i].dmin = lq_fp32_to_fp16(max_min / q4scale);
        } else {
            y[i].dmin = lq_fp32_to_fp16(0.f);
        }
        for (int j = 0; j < QK_K / 16; ++j) {
            const float d = lq_fp16_to_fp32(y[i].d) * (y[i].scales[j] & 0xF);
            if (!d) continue;
            const float dm = lq_fp16_to_fp32(y[i].dmin) * (y[i].scales[j] >> 4);
            for (int ii = 0; ii < 16; ++ii) {
                int l = kq_nearest_int((x[16 * j + ii] + dm) / d);
                L[16 * j + ii] = (uint8_t)kq_max_i(0, kq_min_i(3, l));
            }
        }
        kq_pack_2bit(L, y[i].qs);
    }
}
