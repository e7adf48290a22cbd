/* Reference GEMV kernels of llmq's formats, and the float order that the
 * AVX2 and AVX-512 kernels reproduce bit for bit.
 *
 * Integer formats (I8_CH, I<b>_G<g><S|A>) take Q8_0 activations (n a
 * multiple of 32), as the GGML 32-value block types do (qdot_legacy_ref.c).
 * Per row, 16 float accumulators acc[0..15] start at +0; for each 32-value
 * unit b (in order) with weight scale dw (and min m) and activation scale
 * da:
 *     isum = sum c_i * a_i          exact int (c: signed code; asym: unsigned;
 *                                   NF4: lq_nf4_book_i16[field], dw its
 *                                   fp16 scale times 2^-14)
 *     t    = (dw * da) * (float)isum
 *     asym only: S = sum a_i (exact int); t = fmaf(m * da, (float)S, t)
 *     acc[b % 16] = acc[b % 16] + t
 * and y = reduce16(acc) = reduce8(h) of h[k] = acc[k] + acc[k + 8] (k < 8),
 * where reduce8(h) is
 *     q[k] = h[k] + h[k + 4]      (k < 4)
 *     r[k] = q[k] + q[k + 2]      (k < 2)
 *     y    = r[0] + r[1]
 * FP8 formats (E4M3) take F32 activations x and work with code values h_i
 * = E4M3 value times 2^-8, exact fp16 numbers (E4M3 is a subset of fp16
 * shifted by 8 binades), so that SIMD kernels decode them with one fp16
 * conversion; that decode misses NaN codes 0x7F / 0xFF, so a SIMD kernel
 * hands a row holding one to this reference. Per group (G32 / G128; per
 * channel: the whole row) 32 lane sums p[k] start at +0,
 *     p[i % 32] = fmaf(h_i, x_i, p[i % 32])   (i counted in the group)
 * and fold into the row's acc[32] (from +0) with the group scale d:
 *     acc[k] = fmaf(d, p[k], acc[k])          (d = 256 * scale)
 * E4M3 per channel has no fold: y = (256 * s) * reduce32(p); the others
 * y = reduce32(acc), where reduce32(a) = reduce16(a[k] + a[k + 16]). */
#include "kernels/planar.h"
#include "kernels/qdot_llmq.h"

#include "quant/blocks.h"

#include <math.h>

static float reduce8(const float h[8]) {
    float q[4], r[2];
    for (int k = 0; k < 4; k++) q[k] = h[k] + h[k + 4];
    for (int k = 0; k < 2; k++) r[k] = q[k] + q[k + 2];
    return r[0] + r[1];
}

static float reduce16(const float acc[16]) {
    float h[8];
    for (int k = 0; k < 8; k++) h[k] = acc[k] + acc[k + 8];
    return reduce8(h);
}

/* NF4's fp16 book in units of 2^-14 (tests/kernels/test_qdot_llmq.c checks
 * it against lq_nf4_values) */
const int16_t lq_nf4_book_i16[16] = {-16384, -11408, -8600, -6472, -4660, -3028, -1492, 0,
                                     1304,   2636,   4032,  5536,  7220,  9216,  11848, 16384};

static void int_rows(int bits, int group, bool asym, bool nf4, float *y, const void *W, size_t row_bytes, const void *xq,
                     int n, int r0, int r1) {
    const block_q8_0 *xb = xq;
    const int half = 1 << (bits - 1);
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes;
        float acc[16] = {0};
        for (int b = 0; b < n / 32; b++) {
            float dw, m;
            const uint8_t *unit = lq_llmq_int_unit(row, bits, group, asym, b, &dw, &m);
            uint8_t f[32];
            lq_llmq_unpack_unit(bits, unit, f);
            const float da = lq_fp16_to_fp32(xb[b].d);
            if (nf4) dw *= LQ_LLMQ_NF4_UNIT;
            int32_t isum = 0, S = 0;
            for (int i = 0; i < 32; i++) {
                const int c = nf4 ? lq_nf4_book_i16[f[i]] : asym ? f[i] : bits == 8 ? (int8_t)f[i] : f[i] - half;
                isum += c * xb[b].qs[i];
                S += xb[b].qs[i];
            }
            float t = (dw * da) * (float)isum;
            if (asym) t = fmaf(m * da, (float)S, t);
            acc[b % 16] = acc[b % 16] + t;
        }
        y[r] = reduce16(acc);
    }
}

static float reduce32(const float a[32]) {
    float q[16];
    for (int k = 0; k < 16; k++) q[k] = a[k] + a[k + 16];
    return reduce16(q);
}

/* h of code c: E4M3 value times 2^-8 (exact; NaN stays NaN) */
static float e4m3_h(uint8_t c) { return lq_e4m3_to_fp32(c) * 0x1p-8f; }

/* one float-format row: see the order at the top */
float lq_qdot_llmq_f32_row_ref(int kind, int group, const uint8_t *row, const float *x, int n) {
    float acc[32] = {0}, p[32] = {0};
    if (kind == 1) { /* E4M3 per channel: fp32 scale, then n codes */
        for (int i = 0; i < n; i++) p[i % 32] = fmaf(e4m3_h(row[4 + i]), x[i], p[i % 32]);
        float s;
        memcpy(&s, row, 4);
        return (256.0f * s) * reduce32(p);
    }
    for (int g = 0; g < n / group; g++) {
        const uint8_t *blk = row + (size_t)g * (size_t)(2 + group);
        const float *xg = x + (size_t)g * group;
        memset(p, 0, sizeof p);
        for (int i = 0; i < group; i++) p[i % 32] = fmaf(e4m3_h(blk[2 + i]), xg[i], p[i % 32]);
        const float d = 256.0f * lq_llmq_rd_f16(blk);
        for (int k = 0; k < 32; k++) acc[k] = fmaf(d, p[k], acc[k]);
    }
    return reduce32(acc);
}

static void f32_rows(int kind, int group, float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0,
                     int r1) {
    for (int r = r0; r < r1; r++)
        y[r] = lq_qdot_llmq_f32_row_ref(kind, group, (const uint8_t *)W + (size_t)r * row_bytes, xq, n);
}

#define INT_REF(name, bits, group, asym)                                                                   \
    void lq_qdot_llmq_##name##_ref(float *y, const void *W, size_t rb, const void *xq, int n, int r0, int r1) { \
        int_rows(bits, group, asym, LQ_TYPE_##name == LQ_TYPE_NF4, y, W, rb, xq, n, r0, r1);                \
    }
#define F32_REF(name, kind, group)                                                                         \
    void lq_qdot_llmq_##name##_ref(float *y, const void *W, size_t rb, const void *xq, int n, int r0, int r1) { \
        f32_rows(kind, group, y, W, rb, xq, n, r0, r1);                                                    \
    }
LQ_LLMQ_INT_TYPES(INT_REF)
LQ_LLMQ_F32_TYPES(F32_REF)

/* ------------------------------------------------------------ the lookup */

/* The AVX2 kernels of the group formats read planar rows
 * (kernels/planar.h) in chunks of eight units: the chunk's group headers,
 * then its units (INT3's as an octet, INT2's as quads); by width (2, 3, 4, 8 bits), group
 * (32, 64, 128) and asym */
#define PLAN(hdr, g, units, to_float, codes) {2, {hdr, units}, 0, NULL, to_float, codes, 256 / (g), NULL}
#define PLANS(ub, codes) {{PLAN(2, 32, ub, NULL, codes), PLAN(4, 32, ub, NULL, codes)}, \
                          {PLAN(2, 64, 2 * ub, NULL, codes), PLAN(4, 64, 2 * ub, NULL, codes)}, \
                          {PLAN(2, 128, 4 * ub, NULL, codes), PLAN(4, 128, 4 * ub, NULL, codes)}}
static const lq_planar plan_llmq[4][3][2] = {
    {{PLAN(2, 32, 8, lq_i2_g32s_planar_to_float_avx2, 2), PLAN(4, 32, 8, lq_i2_g32a_planar_to_float_avx2, 2)},
     {PLAN(2, 64, 16, lq_i2_g64s_planar_to_float_avx2, 2), PLAN(4, 64, 16, lq_i2_g64a_planar_to_float_avx2, 2)},
     {PLAN(2, 128, 32, lq_i2_g128s_planar_to_float_avx2, 2), PLAN(4, 128, 32, lq_i2_g128a_planar_to_float_avx2, 2)}},
    {{PLAN(2, 32, 12, lq_i3_g32s_planar_to_float_avx2, 3), PLAN(4, 32, 12, lq_i3_g32a_planar_to_float_avx2, 3)},
     {PLAN(2, 64, 24, lq_i3_g64s_planar_to_float_avx2, 3), PLAN(4, 64, 24, lq_i3_g64a_planar_to_float_avx2, 3)},
     {PLAN(2, 128, 48, lq_i3_g128s_planar_to_float_avx2, 3), PLAN(4, 128, 48, lq_i3_g128a_planar_to_float_avx2, 3)}},
    PLANS(16, 0),
    PLANS(32, 0),
};
#define PLAN_ref(b, g, a) NULL
#define PLAN_avx2(b, g, a) (LQ_LLMQ_AVX2_PLANAR(b, g, a) ? &plan_llmq[(b) == 8 ? 3 : (b) - 2][(g) / 64][a] : NULL)
#define PLAN_avx512(b, g, a) PLAN_avx2(b, g, a) /* the same kernels built for AVX-512 (qdot_llmq_ymm_avx512.c) */

#define INFO_INT(name, b, g, a, isa) \
    [LQ_TYPE_##name - LQ_TYPE_LLMQ_FIRST] = {LQ_TYPE_Q8_0, lq_qdot_llmq_##name##_##isa, PLAN_##isa(b, g, a)},
#define INFO_F32(name, k, g, isa) \
    [LQ_TYPE_##name - LQ_TYPE_LLMQ_FIRST] = {LQ_TYPE_F32, lq_qdot_llmq_##name##_##isa, NULL},
#define INFO_INT_REF(n, b, g, a) INFO_INT(n, b, g, a, ref)
#define INFO_INT_AVX2(n, b, g, a) INFO_INT(n, b, g, a, avx2)
#define INFO_INT_AVX512(n, b, g, a) INFO_INT(n, b, g, a, avx512)
#define INFO_F32_REF(n, k, g) INFO_F32(n, k, g, ref)
#define INFO_F32_AVX2(n, k, g) INFO_F32(n, k, g, avx2)
#define INFO_F32_AVX512(n, k, g) INFO_F32(n, k, g, avx512)

static const lq_qdot_info k_info[3][LQ_TYPE_LLMQ_END - LQ_TYPE_LLMQ_FIRST] = {
    {LQ_LLMQ_INT_TYPES(INFO_INT_REF) LQ_LLMQ_F32_TYPES(INFO_F32_REF)},
    {LQ_LLMQ_INT_TYPES(INFO_INT_AVX2) LQ_LLMQ_F32_TYPES(INFO_F32_AVX2)},
    {LQ_LLMQ_INT_TYPES(INFO_INT_AVX512) LQ_LLMQ_F32_TYPES(INFO_F32_AVX512)},
};

const lq_qdot_info *lq_qdot_llmq_lookup(uint32_t t, int isa) {
    if (t < LQ_TYPE_LLMQ_FIRST || t >= LQ_TYPE_LLMQ_END || isa < 0 || isa > 2) return NULL;
    return &k_info[isa][t - LQ_TYPE_LLMQ_FIRST];
}
