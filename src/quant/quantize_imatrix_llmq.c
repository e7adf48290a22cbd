/* Importance-weighted rounding for llmq's own formats (group INTn S/A,
 * I8_CH, NF4). Per group (I8_CH: per row) the round-to-nearest result of the
 * reference quantizer is the first candidate; then a grid of trial scales
 * r * (the reference's inverse scale), r = 0.5 .. 1.3, each followed by an
 * importance-weighted least-squares refit of the scale (and zero point) for
 * the levels it picked, re-rounded to the precision the format stores, and
 * levels re-picked with the stored values. The candidate with the smallest
 * sum_j imp_j (x_j - deq_j)^2, measured on the stored values, wins, and the
 * reference result is kept on ties: the weighted error never exceeds that
 * of lq_rtn_quantize. */
#include "quant/quantize_imatrix_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "quant/types_llmq.h"

#define GRID_N 33 /* r = 0.5 + 0.025 * k */
#define REFITS 2  /* least-squares refits per trial scale */

static float grid_r(int k) { return 0.5f + 0.025f * (float)k; }

/* the reference codecs' rounding: nearest even, clamped, NaN -> 0 */
static int round_clamp(float v, int lo, int hi)
{
    if (!(v == v)) v = 0.0f;
    v = nearbyintf(v);
    if (v < (float)lo) return lo;
    if (v > (float)hi) return hi;
    return (int)v;
}

static float fp16_round(float v) { return lq_fp16_to_fp32(lq_fp32_to_fp16(v)); }

/* ------------------------------------------- symmetric: deq = d * q */

typedef struct {
    int lo, hi;       /* code range */
    bool fp16_scale;  /* scale stored as fp16 (groups) or fp32 (I8_CH) */
} sym_fmt;

static double sym_codes_err(const float *x, const float *w, int64_t n, float d, const sym_fmt *f, int *q)
{
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    double err = 0;
    for (int64_t i = 0; i < n; i++) {
        q[i] = round_clamp(x[i] * id, f->lo, f->hi);
        const double e = (double)x[i] - (double)(d * (float)q[i]);
        err += (double)w[i] * e * e;
    }
    return err;
}

/* Best stored scale for x given the reference scale d_ref (codes of the
 * reference: round(x / d_ref)); q gets the winning codes; cand: n ints of
 * scratch. */
static float sym_search(const float *x, const float *w, int64_t n, float d_ref, const sym_fmt *f, int *q, int *cand)
{
    const float id_ref = d_ref != 0.0f ? 1.0f / d_ref : 0.0f;
    /* the reference rounds with its unrounded scale and stores it rounded */
    double best = 0;
    const float d_ref_stored = f->fp16_scale ? fp16_round(d_ref) : d_ref;
    for (int64_t i = 0; i < n; i++) {
        q[i] = round_clamp(x[i] * id_ref, f->lo, f->hi);
        const double e = (double)x[i] - (double)(d_ref_stored * (float)q[i]);
        best += (double)w[i] * e * e;
    }
    float d_best = d_ref_stored;
    if (id_ref == 0.0f) return d_best;
    for (int k = 0; k < GRID_N; k++) {
        const float iscale = grid_r(k) * id_ref;
        for (int64_t i = 0; i < n; i++) cand[i] = round_clamp(x[i] * iscale, f->lo, f->hi);
        for (int it = 0; it < REFITS; it++) {
            double sxl = 0, sll = 0;
            for (int64_t i = 0; i < n; i++) {
                sxl += (double)w[i] * x[i] * cand[i];
                sll += (double)w[i] * cand[i] * cand[i];
            }
            if (!(sll > 0)) break;
            float d = (float)(sxl / sll);
            if (f->fp16_scale) d = fp16_round(d);
            if (!isfinite(d)) break;
            const double err = sym_codes_err(x, w, n, d, f, cand);
            if (err < best) {
                best = err;
                d_best = d;
                memcpy(q, cand, (size_t)n * sizeof *q);
            }
        }
    }
    return d_best;
}

/* ------------------------------------- asymmetric: deq = d * u + m */

static double asym_codes_err(const float *x, const float *w, int n, float d, float m, int top, int *u)
{
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    double err = 0;
    for (int64_t i = 0; i < n; i++) {
        u[i] = round_clamp((x[i] - m) * id, 0, top);
        const double e = (double)x[i] - (double)(d * (float)u[i] + m);
        err += (double)w[i] * e * e;
    }
    return err;
}

/* Best fp16 (d, m) of one asymmetric group; u gets the codes. */
static void asym_search(const float *x, const float *w, int n, int top, float *d_out, float *m_out, int *u)
{
    int cand[128];
    float min = FLT_MAX, max = -FLT_MAX;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
    }
    /* the reference: codes from the unrounded d and min, both stored fp16 */
    const float d_ref = (max - min) / (float)top;
    const float id_ref = d_ref != 0.0f ? 1.0f / d_ref : 0.0f;
    float d_best = fp16_round(d_ref), m_best = fp16_round(min);
    double best = 0;
    for (int64_t i = 0; i < n; i++) {
        u[i] = round_clamp((x[i] - min) * id_ref, 0, top);
        const double e = (double)x[i] - (double)(d_best * (float)u[i] + m_best);
        best += (double)w[i] * e * e;
    }
    if (id_ref != 0.0f) {
        for (int k = 0; k < GRID_N; k++) {
            const float iscale = grid_r(k) * id_ref;
            for (int64_t i = 0; i < n; i++) cand[i] = round_clamp((x[i] - min) * iscale, 0, top);
            for (int it = 0; it < REFITS; it++) {
                double sw = 0, sl = 0, sll = 0, sx = 0, sxl = 0;
                for (int64_t i = 0; i < n; i++) {
                    sw += w[i];
                    sl += (double)w[i] * cand[i];
                    sll += (double)w[i] * cand[i] * cand[i];
                    sx += (double)w[i] * x[i];
                    sxl += (double)w[i] * x[i] * cand[i];
                }
                const double D = sw * sll - sl * sl;
                if (!(D > 0)) break;
                const float d = fp16_round((float)((sw * sxl - sx * sl) / D));
                const float m = fp16_round((float)((sll * sx - sl * sxl) / D));
                if (!isfinite(d) || !isfinite(m)) break;
                const double err = asym_codes_err(x, w, n, d, m, top, cand);
                if (err < best) {
                    best = err;
                    d_best = d;
                    m_best = m;
                    memcpy(u, cand, (size_t)n * sizeof *u);
                }
            }
        }
    }
    *d_out = d_best;
    *m_out = m_best;
}

/* ------------------------------------------------------------ writers */

static void wr16(uint8_t *p, float v)
{
    const uint16_t h = lq_fp32_to_fp16(v);
    memcpy(p, &h, 2);
}

static void group_row(uint32_t type, const float *x, void *y, int64_t n, const float *qw)
{
    int bits = 4, group = 32;
    bool asym = false;
    if (!lq_llmq_group_params(type, &bits, &group, &asym)) return;
    const int half = 1 << (bits - 1), top = (1 << bits) - 1, ub = lq_llmq_unit_bytes(bits);
    const sym_fmt fmt = {-half, half - 1, true};
    uint8_t *out = y;
    int q[128], cand[128];
    uint8_t codes[128];
    for (int64_t g = 0; g < n / group; g++, x += group, qw += group) {
        if (asym) {
            float d, m;
            asym_search(x, qw, group, top, &d, &m, q);
            wr16(out, d);
            wr16(out + 2, m);
            for (int i = 0; i < group; i++) codes[i] = (uint8_t)q[i];
            out += 4;
        } else {
            float amax = 0.0f, mx = 0.0f; /* the reference's scale: m / -half */
            for (int i = 0; i < group; i++)
                if (fabsf(x[i]) > amax) {
                    amax = fabsf(x[i]);
                    mx = x[i];
                }
            const float d = sym_search(x, qw, group, mx / (float)-half, &fmt, q, cand);
            wr16(out, d);
            for (int i = 0; i < group; i++) codes[i] = bits == 8 ? (uint8_t)(int8_t)q[i] : (uint8_t)(q[i] + half);
            out += 2;
        }
        for (int u = 0; u < group / 32; u++, out += ub) lq_llmq_pack_unit(bits, codes + 32 * u, out);
    }
}

static void i8_ch_row(const float *x, void *y, int64_t n, const float *qw)
{
    static const sym_fmt fmt = {-127, 127, false};
    uint8_t *out = y;
    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) amax = fabsf(x[i]);
    int *q = malloc((size_t)n * 2 * sizeof *q); /* codes, then scratch */
    if (!q) { /* no memory for the search: the reference result */
        lq_quant_i8_ch_ref(x, y, n);
        return;
    }
    const float s = sym_search(x, qw, n, amax / 127.0f, &fmt, q, q + n);
    memcpy(out, &s, 4);
    for (int64_t i = 0; i < n; i++) out[4 + i] = (uint8_t)(int8_t)q[i];
    free(q);
}

/* ------------------------------------------------------------------ NF4 */

#define NF4_BLOCK 64

/* the format's scale rounding: fp16, capped at the largest finite fp16 */
static float nf4_scale_round(float v) { return fp16_round(v < 65504.0f ? v : 65504.0f); }

static double nf4_codes_err(const float *x, const float *w, float d, uint8_t *c)
{
    double err = 0;
    for (int i = 0; i < NF4_BLOCK; i++) {
        c[i] = (uint8_t)(d != 0.0f ? lq_nf4_nearest(x[i] / d) : 7);
        const double e = (double)x[i] - (double)(lq_nf4_values[c[i]] * d);
        err += (double)w[i] * e * e;
    }
    return err;
}

static void nf4_row(const float *x, void *y, int64_t n, const float *qw)
{
    uint8_t *out = y;
    for (int64_t b = 0; b < n / NF4_BLOCK; b++, x += NF4_BLOCK, qw += NF4_BLOCK, out += 34) {
        float amax = 0.0f;
        for (int i = 0; i < NF4_BLOCK; i++)
            if (fabsf(x[i]) > amax) amax = fabsf(x[i]);
        uint8_t codes[NF4_BLOCK], cand[NF4_BLOCK];
        float d_best = nf4_scale_round(amax); /* the reference: absmax */
        double best = nf4_codes_err(x, qw, d_best, codes);
        for (int k = 0; k < GRID_N && amax > 0.0f; k++) {
            float d = amax * grid_r(k);
            for (int it = 0; it <= REFITS; it++) {
                d = nf4_scale_round(d);
                if (!(d > 0.0f) || !isfinite(d)) break;
                const double err = nf4_codes_err(x, qw, d, cand);
                if (err < best) {
                    best = err;
                    d_best = d;
                    memcpy(codes, cand, sizeof codes);
                }
                double sxq = 0, sqq = 0; /* refit the scale to these codes */
                for (int i = 0; i < NF4_BLOCK; i++) {
                    const double v = lq_nf4_values[cand[i]];
                    sxq += (double)qw[i] * x[i] * v;
                    sqq += (double)qw[i] * v * v;
                }
                if (!(sqq > 0)) break;
                d = (float)(sxq / sqq);
            }
        }
        const uint16_t d16 = lq_fp32_to_fp16(d_best);
        memcpy(out, &d16, 2);
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 16; j++)
                out[2 + 16 * h + j] = (uint8_t)(codes[32 * h + j] | codes[32 * h + j + 16] << 4);
    }
}

void imq_llmq_row(uint32_t type, const float *x, void *y, int64_t n, const float *qw)
{
    if (type == LQ_TYPE_I8_CH) i8_ch_row(x, y, n, qw);
    else if (type == LQ_TYPE_NF4) nf4_row(x, y, n, qw);
    else group_row(type, x, y, n, qw);
}
