/* Reference GEMV kernels for the 32-value block weight types, and the
 * legacy family's kernel lookup.
 *
 * Activation types (llama.cpp's vec_dot_type): Q8_1 for Q4_1 and Q5_1,
 * Q8_0 for Q4_0, Q5_0, Q8_0, IQ4_NL and MXFP4.
 *
 * Definition, per row r, with blocks b = 0, 1, ... in order (w = weight
 * block b of row r, x = activation block b; fp16 fields widened exactly):
 *   isum = exact int32 sum over j < 32 of c_j * x.qs[j], where c_j is the
 *          integer code of value j as src/quant/dequant_legacy.c decodes it:
 *            Q4_0   nibble - 8                 Q4_1  nibble
 *            Q5_0   (nibble | qh bit << 4) - 16  Q5_1  nibble | qh bit << 4
 *            Q8_0   qs[j]
 *            IQ4_NL kvalues_iq4nl[nibble]
 *            MXFP4  kvalues_mxfp4[nibble] (E2M1 doubled)
 *          (value j < 16 is the low nibble of qs[j], value j + 16 its high one)
 *   symmetric types:  t_b = (d_w * d_x) * (float)isum
 *     with d_w = fp16 d, or for MXFP4 GGML_E8M0_TO_FP32_HALF(e)
 *   Q4_1, Q5_1:       t_b = (d_w * d_x) * (float)isum + m_w * s_x
 *     with s_x the Q8_1 block's fp16 s
 * Accumulation: 16 partial sums p[0..15] start at +0.0f; block b's term
 * goes into p[b % 16] (p[b % 16] = p[b % 16] + t_b, blocks in order), so a
 * 16-lane vector (or two 8-lane halves) follows it with one add per 16
 * blocks. A row whose block count is not a multiple of 16 simply leaves the
 * last lanes with fewer terms. Then a fixed tree folds the lanes:
 *   for h = 8, 4, 2, 1:  p[i] = p[i] + p[i + h]  for i < h
 * and y[r] = p[0]. Each operation is one float rounding (no FMA). The SIMD
 * kernels give the same bits. */
#include "kernels/planar.h"
#include "kernels/qdot.h"
#include "kernels/qdot_legacy_block.h"

#define LEGACY_REF(name, wblock, xblock)                                                             \
    void lq_qdot_##name##_ref(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, \
                              int r1) {                                                              \
        const xblock *x = xq;                                                                        \
        for (int r = r0; r < r1; r++) {                                                              \
            const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes;                         \
            float p[16] = {0.0f};                                                                    \
            for (int b = 0; b < n / 32; b++)                                                         \
                p[b % 16] = p[b % 16] + lq_legacy_term_##name(row + (size_t)b * sizeof(wblock), &x[b]); \
            y[r] = lq_legacy_fold16(p);                                                              \
        }                                                                                            \
    }

LEGACY_REF(q4_0, block_q4_0, block_q8_0)
LEGACY_REF(q4_1, block_q4_1, block_q8_1)
LEGACY_REF(q5_0, block_q5_0, block_q8_0)
LEGACY_REF(q5_1, block_q5_1, block_q8_1)
LEGACY_REF(q8_0, block_q8_0, block_q8_0)
LEGACY_REF(iq4_nl, block_iq4_nl, block_q8_0)
LEGACY_REF(mxfp4, block_mxfp4, block_q8_0)

/* The AVX2 kernels read planar rows (kernels/planar.h), fields in block
 * order; Q8_0's GGUF rows (see qdot_legacy_avx2.c). The AVX-512 ones are
 * the same kernels built for AVX-512 (qdot_legacy_ymm_avx512.c). IQ4_NL's
 * rows are Q4_0's layout (d, qs). */
static const lq_planar plan_q4_0 = {2, {2, 16}, 0, NULL, NULL, 0, 0, NULL}, plan_q4_1 = {2, {4, 16}, 0, NULL, NULL, 0, 0, NULL},
                       plan_q5_0 = {3, {2, 4, 16}, 1, NULL, NULL, 0, 0, NULL}, plan_q5_1 = {3, {4, 4, 16}, 1, NULL, NULL, 0, 0, NULL},
                       plan_mxfp4 = {2, {1, 16}, 0, NULL, NULL, 0, 0, NULL};

#define INFOS(name, act, plan) \
    {{act, lq_qdot_##name##_ref, NULL}, {act, lq_qdot_##name##_avx2, plan}, {act, lq_qdot_##name##_avx512, plan}}

static const lq_qdot_info infos_q4_0[3] = INFOS(q4_0, LQ_TYPE_Q8_0, &plan_q4_0);
static const lq_qdot_info infos_q4_1[3] = INFOS(q4_1, LQ_TYPE_Q8_1, &plan_q4_1);
static const lq_qdot_info infos_q5_0[3] = INFOS(q5_0, LQ_TYPE_Q8_0, &plan_q5_0);
static const lq_qdot_info infos_q5_1[3] = INFOS(q5_1, LQ_TYPE_Q8_1, &plan_q5_1);
static const lq_qdot_info infos_q8_0[3] = INFOS(q8_0, LQ_TYPE_Q8_0, NULL);
static const lq_qdot_info infos_iq4_nl[3] = INFOS(iq4_nl, LQ_TYPE_Q8_0, &plan_q4_0); /* d, qs as Q4_0 */
static const lq_qdot_info infos_mxfp4[3] = INFOS(mxfp4, LQ_TYPE_Q8_0, &plan_mxfp4);

const lq_qdot_info *lq_qdot_legacy_lookup(uint32_t t, int isa) {
    if (isa < 0 || isa > 2) return NULL;
    switch (t) {
    case LQ_TYPE_Q4_0: return &infos_q4_0[isa];
    case LQ_TYPE_Q4_1: return &infos_q4_1[isa];
    case LQ_TYPE_Q5_0: return &infos_q5_0[isa];
    case LQ_TYPE_Q5_1: return &infos_q5_1[isa];
    case LQ_TYPE_Q8_0: return &infos_q8_0[isa];
    case LQ_TYPE_IQ4_NL: return &infos_iq4_nl[isa];
    case LQ_TYPE_MXFP4: return &infos_mxfp4[isa];
    default: return NULL;
    }
}
