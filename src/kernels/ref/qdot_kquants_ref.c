/* Scalar reference GEMV kernels for the K-quants (Q2_K..Q6_K weights against
 * Q8_K activations). They define the bits the SIMD kernels must reproduce.
 *
 * Semantics, per row r: acc = 0.0f; for each 256-value super-block i in
 * order, with w = weight block i of the row, x = activation block i:
 *
 *   integer parts (exact in int32; the weight codes are decoded exactly as
 *   src/quant/dequant_kquants.c does):
 *     Q2_K: 16 sub-blocks of 16, code q in 0..3, scale sc_j = scales[j] & 15,
 *           min m_j = scales[j] >> 4;
 *           isum = sum_j sc_j * dot(q_j, x_j),  imin = sum_j m_j * bsums[j]
 *     Q3_K: 16 sub-blocks of 16, value q in -4..3 (2 low bits, minus 4 when
 *           the hmask bit is clear), scale s_j = 6-bit scale - 32;
 *           isum = sum_j s_j * dot(q_j, x_j)
 *     Q4_K: 8 sub-blocks of 32, code q in 0..15, 6-bit scale sc_j and min m_j;
 *           isum = sum_j sc_j * dot(q_j, x_j),
 *           imin = sum_j m_j * (bsums[2j] + bsums[2j+1])
 *     Q5_K: as Q4_K with q in 0..31 (5th bit from qh)
 *     Q6_K: 16 sub-blocks of 16, value q - 32 in -32..31, int8 scale s_j;
 *           isum = sum_j s_j * dot(q_j - 32, x_j)
 *
 *   float part, dd = fp16(w.d) * x.d, dm = fp16(w.dmin) * x.d, each
 *   operation rounded to float as written:
 *     with mins (Q2_K, Q4_K, Q5_K): acc = acc + (dd * (float)isum - dm * (float)imin)
 *     without  (Q3_K, Q6_K):        acc = acc + dd * (float)isum
 *
 * then y[r] = acc. */
#include "kernels/planar.h"
#include "kernels/qdot.h"
#include "quant/blocks.h"
#include "quant/types.h"

#include <string.h>

#define FP16(x) lq_fp16_to_fp32(x)

static int dot16(const int8_t *q, const int8_t *x, int len) {
    int s = 0;
    for (int l = 0; l < len; l++) s += q[l] * x[l];
    return s;
}

/* The 16 Q3_K scales, 6 bits each, minus 32 (the unpacking of the dequantizer). */
static void q3_k_scales(const uint8_t packed[12], int8_t scales[16]) {
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    uint32_t aux[4];
    memcpy(aux, packed, 12);
    const uint32_t tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    memcpy(scales, aux, 16);
    for (int j = 0; j < 16; j++) scales[j] = (int8_t)(scales[j] - 32);
}

/* 6-bit scale and min j of a Q4_K/Q5_K super-block. */
static void scale_min_k4(int j, const uint8_t *q, int *d, int *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
    }
}

/* Q2_K and Q3_K share the code layout: byte l of a 32-byte group g (g = 0,1)
 * holds, at bits 2s..2s+1, value 128 g + 32 s + l. */
static void unpack_2bit(const uint8_t qs[64], int8_t q[256]) {
    for (int g = 0; g < 2; g++)
        for (int s = 0; s < 4; s++)
            for (int l = 0; l < 32; l++) q[128 * g + 32 * s + l] = (int8_t)((qs[32 * g + l] >> (2 * s)) & 3);
}

void lq_qdot_q2_k_ref(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1) {
    const block_q8_K *xb = xq;
    const int nb = n / QK_K;
    for (int r = r0; r < r1; r++) {
        const block_q2_K *wb = (const block_q2_K *)((const uint8_t *)W + (size_t)r * row_bytes);
        float acc = 0.0f;
        for (int i = 0; i < nb; i++) {
            int8_t q[QK_K];
            unpack_2bit(wb[i].qs, q);
            int isum = 0, imin = 0;
            for (int j = 0; j < 16; j++) {
                isum += (wb[i].scales[j] & 0xF) * dot16(q + 16 * j, xb[i].qs + 16 * j, 16);
                imin += (wb[i].scales[j] >> 4) * xb[i].bsums[j];
            }
            const float dd = FP16(wb[i].d) * xb[i].d, dm = FP16(wb[i].dmin) * xb[i].d;
            acc = acc + (dd * (float)isum - dm * (float)imin);
        }
        y[r] = acc;
    }
}

void lq_qdot_q3_k_ref(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1) {
    const block_q8_K *xb = xq;
    const int nb = n / QK_K;
    for (int r = r0; r < r1; r++) {
        const block_q3_K *wb = (const block_q3_K *)((const uint8_t *)W + (size_t)r * row_bytes);
        float acc = 0.0f;
        for (int i = 0; i < nb; i++) {
            int8_t q[QK_K], scales[16];
            unpack_2bit(wb[i].qs, q);
            /* hmask bit 4g + s of byte l belongs to value 128 g + 32 s + l */
            for (int v = 0; v < QK_K; v++) {
                const int g = v / 128, s = (v % 128) / 32, l = v % 32;
                if (!(wb[i].hmask[l] & (1u << (4 * g + s)))) q[v] = (int8_t)(q[v] - 4);
            }
            q3_k_scales(wb[i].scales, scales);
            int isum = 0;
            for (int j = 0; j < 16; j++) isum += scales[j] * dot16(q + 16 * j, xb[i].qs + 16 * j, 16);
            const float dd = FP16(wb[i].d) * xb[i].d;
            acc = acc + dd * (float)isum;
        }
        y[r] = acc;
    }
}

/* Q4_K / Q5_K: byte l of 32-byte group g holds value 64 g + l in its low
 * nibble and 64 g + 32 + l in its high nibble; Q5_K's qh[l] bit 2g (2g+1)
 * is the 5th bit of the low (high) one. */
static void qdot_q45_k(float *y, const void *W, size_t row_bytes, const block_q8_K *xb, int n, int r0, int r1,
                       int five_bits) {
    const int nb = n / QK_K;
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes;
        float acc = 0.0f;
        for (int i = 0; i < nb; i++) {
            uint16_t d, dmin;
            const uint8_t *scales, *qs, *qh = NULL;
            if (five_bits) {
                const block_q5_K *b = (const block_q5_K *)row + i;
                d = b->d, dmin = b->dmin, scales = b->scales, qs = b->qs, qh = b->qh;
            } else {
                const block_q4_K *b = (const block_q4_K *)row + i;
                d = b->d, dmin = b->dmin, scales = b->scales, qs = b->qs;
            }
            int8_t q[QK_K];
            for (int g = 0; g < 4; g++)
                for (int l = 0; l < 32; l++) {
                    int lo = qs[32 * g + l] & 0xF, hi = qs[32 * g + l] >> 4;
                    if (qh) {
                        lo += (qh[l] >> (2 * g)) & 1 ? 16 : 0;
                        hi += (qh[l] >> (2 * g + 1)) & 1 ? 16 : 0;
                    }
                    q[64 * g + l] = (int8_t)lo;
                    q[64 * g + 32 + l] = (int8_t)hi;
                }
            int isum = 0, imin = 0;
            for (int j = 0; j < 8; j++) {
                int sc, m;
                scale_min_k4(j, scales, &sc, &m);
                isum += sc * dot16(q + 32 * j, xb[i].qs + 32 * j, 32);
                imin += m * (xb[i].bsums[2 * j] + xb[i].bsums[2 * j + 1]);
            }
            const float dd = FP16(d) * xb[i].d, dm = FP16(dmin) * xb[i].d;
            acc = acc + (dd * (float)isum - dm * (float)imin);
        }
        y[r] = acc;
    }
}

void lq_qdot_q4_k_ref(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1) {
    qdot_q45_k(y, W, row_bytes, xq, n, r0, r1, 0);
}

void lq_qdot_q5_k_ref(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1) {
    qdot_q45_k(y, W, row_bytes, xq, n, r0, r1, 1);
}

void lq_qdot_q6_k_ref(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1) {
    const block_q8_K *xb = xq;
    const int nb = n / QK_K;
    for (int r = r0; r < r1; r++) {
        const block_q6_K *wb = (const block_q6_K *)((const uint8_t *)W + (size_t)r * row_bytes);
        float acc = 0.0f;
        for (int i = 0; i < nb; i++) {
            const uint8_t *ql = wb[i].ql, *qh = wb[i].qh;
            int8_t q[QK_K];
            /* per 128-value half h: ql[64h + l] low nibble -> value 128h + l,
             * ql[64h + 32 + l] low -> +32, the high nibbles -> +64 and +96;
             * qh[32h + l] bits 0-1, 2-3, 4-5, 6-7 are their top two bits */
            for (int h = 0; h < 2; h++)
                for (int l = 0; l < 32; l++) {
                    const int a = ql[64 * h + l], b = ql[64 * h + 32 + l], c = qh[32 * h + l];
                    q[128 * h + l + 0] = (int8_t)(((a & 0xF) | (((c >> 0) & 3) << 4)) - 32);
                    q[128 * h + l + 32] = (int8_t)(((b & 0xF) | (((c >> 2) & 3) << 4)) - 32);
                    q[128 * h + l + 64] = (int8_t)(((a >> 4) | (((c >> 4) & 3) << 4)) - 32);
                    q[128 * h + l + 96] = (int8_t)(((b >> 4) | (((c >> 6) & 3) << 4)) - 32);
                }
            int isum = 0;
            for (int j = 0; j < 16; j++) isum += wb[i].scales[j] * dot16(q + 16 * j, xb[i].qs + 16 * j, 16);
            const float dd = FP16(wb[i].d) * xb[i].d;
            acc = acc + dd * (float)isum;
        }
        y[r] = acc;
    }
}

/* The AVX2 Q2_K, Q3_K, Q4_K and Q5_K kernels read recoded blocks
 * (kernels/planar.h), and so do the AVX-512 ones: the same source built
 * for AVX-512 (qdot_kquants_ymm_avx512.c) */
static const lq_planar plan_q2_k = {1, {84}, 0, lq_q2_k_recode_avx2, lq_q2_k_recoded_to_float_avx2, 0, 0, NULL},
                       plan_q3_k = {1, {110}, 0, lq_q3_k_recode_avx2, lq_q3_k_recoded_to_float_avx2, 0, 0,
                                    lq_q3_k_unrecode_avx2},
                       plan_q4_k = {1, {144}, 0, lq_q4_k_recode_avx2, lq_q4_k_recoded_to_float_avx2, 0, 0, NULL},
                       plan_q5_k = {1, {176}, 0, lq_q5_k_recode_avx2, lq_q5_k_recoded_to_float_avx2, 0, 0, NULL};

#define KQ_INFOS(t, plan)                                                                             \
    static const lq_qdot_info t##_infos[3] = {                                                     \
        {LQ_TYPE_Q8_K, lq_qdot_##t##_ref, NULL},                                                    \
        {LQ_TYPE_Q8_K, lq_qdot_##t##_avx2, plan},                                                   \
        {LQ_TYPE_Q8_K, lq_qdot_##t##_avx512, plan}};
KQ_INFOS(q2_k, &plan_q2_k)
KQ_INFOS(q3_k, &plan_q3_k)
KQ_INFOS(q4_k, &plan_q4_k)
KQ_INFOS(q5_k, &plan_q5_k)
KQ_INFOS(q6_k, NULL)

const lq_qdot_info *lq_qdot_kquants_lookup(uint32_t t, int isa) {
    if (isa < 0 || isa > 2) return NULL;
    switch (t) {
    case LQ_TYPE_Q2_K: return &q2_k_infos[isa];
    case LQ_TYPE_Q3_K: return &q3_k_infos[isa];
    case LQ_TYPE_Q4_K: return &q4_k_infos[isa];
    case LQ_TYPE_Q5_K: return &q5_k_infos[isa];
    case LQ_TYPE_Q6_K: return &q6_k_infos[isa];
    default: return NULL;
    }
}
