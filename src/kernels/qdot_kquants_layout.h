/* Shared by the SIMD K-quant GEMV files (qdot_kquants_avx2.c,
 * qdot_kquants_avx512.c): the formats as an enum, where each block keeps
 * its scales, and the five entry points, which each file defines over its
 * own qdot_rows(t, y, W, row_bytes, xb, n, r0, r1). */
#ifndef LQ_KERNELS_QDOT_KQUANTS_LAYOUT_H
#define LQ_KERNELS_QDOT_KQUANTS_LAYOUT_H

#include "kernels/qdot.h"
#include "quant/blocks.h"

#include <stddef.h>

enum kq { KQ2, KQ3, KQ4, KQ5, KQ6 };

static const size_t BLOCK_BYTES[5] = {sizeof(block_q2_K), sizeof(block_q3_K), sizeof(block_q4_K),
                                      sizeof(block_q5_K), sizeof(block_q6_K)};
/* offset of d and (when the format has mins) dmin in a block */
static const size_t D_OFFSET[5] = {offsetof(block_q2_K, d), offsetof(block_q3_K, d), offsetof(block_q4_K, d),
                                   offsetof(block_q5_K, d), offsetof(block_q6_K, d)};
static const size_t DMIN_OFFSET[5] = {offsetof(block_q2_K, dmin), 0, offsetof(block_q4_K, dmin),
                                      offsetof(block_q5_K, dmin), 0};

#define LQ_KQUANT_ENTRY(name, t, isa)                                                                    \
    void lq_qdot_##name##_##isa(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, \
                                int r1) {                                                                \
        qdot_rows(t, y, W, row_bytes, xq, n, r0, r1);                                                    \
    }
#define LQ_KQUANT_ENTRY_POINTS(isa)                                                                      \
    LQ_KQUANT_ENTRY(q2_k, KQ2, isa)                                                                      \
    LQ_KQUANT_ENTRY(q3_k, KQ3, isa)                                                                      \
    LQ_KQUANT_ENTRY(q4_k, KQ4, isa)                                                                      \
    LQ_KQUANT_ENTRY(q5_k, KQ5, isa) LQ_KQUANT_ENTRY(q6_k, KQ6, isa)

#endif
