/* Reference GEMV kernels of llmq's formats, and the float order that the
 * AVX2 / AVX-512 kernels reproduce bit for bit.
 *
 * Integer formats (I8_CH, I<b>_G<g><S|A>) take Q8_0 activations (n a
 * multiple of 32). Per row, 16 float accumulators acc[0..15] start at +0;
 * for each 32-value unit b (in order) with weight scale dw (and min m),
 * activation scale da, and for each lane j = 0..7 of the 4 values
 * i = 4j .. 4j+3 of the unit:
 *     p  = sum c_i * a_i        exact int (c: signed code; asym: unsigned)
 *     t  = (dw * da) * (float)p
 *     asym only: s = sum a_i (exact int); t = t + (m * da) * (float)s
 *     acc[8 * (b % 2) + j] = acc[8 * (b % 2) + j] + t
 * Float formats (NF4, E4M3) take F32 activations; value i of the row has
 * weight w_i = value(code_i) * scale (NF4, E4M3 groups) or value(code_i)
 * (E4M3 per channel), and acc[i % 16] = acc[i % 16] + w_i * x_i.
 * Both end with y = reduce16(acc):
 *     h[k] = acc[k] + acc[k + 8]  (k < 8)
 *     q[k] = h[k] + h[k + 4]      (k < 4)
 *     r[k] = q[k] + q[k + 2]      (k < 2)
 *     y    = r[0] + r[1]
 * and E4M3 per channel then multiplies: y = s * y. */
#include "kernels/qdot_llmq.h"

#include "quant/blocks.h"

static float reduce16(const float acc[16]) {
    float h[8], q[4], r[2];
    for (int k = 0; k < 8; k++) h[k] = acc[k] + acc[k + 8];
    for (int k = 0; k < 4; k++) q[k] = h[k] + h[k + 4];
    for (int k = 0; k < 2; k++) r[k] = q[k] + q[k + 2];
    return r[0] + r[1];
}

static void int_rows(int bits, int group, bool asym, float *y, const void *W, size_t row_bytes, const void *xq,
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
            const float sw = dw * da, sm = m * da;
            for (int j = 0; j < 8; j++) {
                int32_t p = 0, s = 0;
                for (int i = 4 * j; i < 4 * j + 4; i++) {
                    const int c = asym ? f[i] : bits == 8 ? (int8_t)f[i] : f[i] - half;
                    p += c * xb[b].qs[i];
                    s += xb[b].qs[i];
                }
                float t = sw * (float)p;
                if (asym) t = t + sm * (float)s;
                acc[8 * (b % 2) + j] = acc[8 * (b % 2) + j] + t;
            }
        }
        y[r] = reduce16(acc);
    }
}

static void f32_rows(int kind, int group, float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0,
                     int r1) {
    const float *x = xq;
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes;
        float acc[16] = {0}, s = 0.0f;
        if (kind == 1) memcpy(&s, row, 4);
        for (int i = 0; i < n; i++) {
            float w;
            if (kind == 0) { /* NF4: 34-byte blocks of 64, 4-bit unit packing */
                const uint8_t *blk = row + (size_t)(i / 64) * 34;
                const int k = i % 64, byte = blk[2 + 16 * (k / 32) + k % 16];
                w = lq_nf4_values[k % 32 < 16 ? byte & 0xF : byte >> 4] * lq_llmq_rd_f16(blk);
            } else if (kind == 1) {
                w = lq_e4m3_to_fp32(row[4 + i]);
            } else {
                const uint8_t *blk = row + (size_t)(i / group) * (size_t)(2 + group);
                w = lq_e4m3_to_fp32(blk[2 + i % group]) * lq_llmq_rd_f16(blk);
            }
            acc[i % 16] = acc[i % 16] + w * x[i];
        }
        y[r] = kind == 1 ? s * reduce16(acc) : reduce16(acc);
    }
}

#define INT_REF(name, bits, group, asym)                                                                   \
    void lq_qdot_llmq_##name##_ref(float *y, const void *W, size_t rb, const void *xq, int n, int r0, int r1) { \
        int_rows(bits, group, asym, y, W, rb, xq, n, r0, r1);                                              \
    }
#define F32_REF(name, kind, group)                                                                         \
    void lq_qdot_llmq_##name##_ref(float *y, const void *W, size_t rb, const void *xq, int n, int r0, int r1) { \
        f32_rows(kind, group, y, W, rb, xq, n, r0, r1);                                                    \
    }
LQ_LLMQ_INT_TYPES(INT_REF)
LQ_LLMQ_F32_TYPES(F32_REF)

/* ------------------------------------------------------------ the lookup */

#define INFO_INT(name, b, g, a, isa) [LQ_TYPE_##name - LQ_TYPE_LLMQ_FIRST] = {LQ_TYPE_Q8_0, lq_qdot_llmq_##name##_##isa},
#define INFO_F32(name, k, g, isa) [LQ_TYPE_##name - LQ_TYPE_LLMQ_FIRST] = {LQ_TYPE_F32, lq_qdot_llmq_##name##_##isa},
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
