/* F16 and BF16 weight rows against an F32 activation row.
 *
 * Float order (the SIMD kernels follow it exactly): 16 running sums, value i
 * going to sum i % 16 as sum = fma(w, x, sum) (one rounding: fmaf here, an
 * FMA instruction in the kernels: one instruction per product where a
 * multiply and an add took two, and on a Zen 4 the GEMV streamed
 * 1.04-1.09x as fast from DRAM);
 * then the 16 sums are folded pairwise: s[j] += s[j+8], then s[j] += s[j+4],
 * s[j] += s[j+2], and y = s[0] + s[1]. */
#include "kernels/qdot.h"

#include "quant/types.h"

#include <math.h>

static float fold16(float s[16]) {
    for (int w = 8; w >= 2; w /= 2)
        for (int j = 0; j < w; j++) s[j] = s[j] + s[j + w];
    return s[0] + s[1];
}

#define FLOAT_ROWS_REF(name, conv)                                                                      \
    void lq_qdot_##name##_ref(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, \
                              int r1) {                                                                 \
        const float *x = xq;                                                                            \
        for (int r = r0; r < r1; r++) {                                                                 \
            const uint16_t *w = (const uint16_t *)((const char *)W + (size_t)r * row_bytes);            \
            float s[16] = {0};                                                                          \
            for (int i = 0; i < n; i++) s[i % 16] = fmaf(conv(w[i]), x[i], s[i % 16]);                      \
            y[r] = fold16(s);                                                                           \
        }                                                                                               \
    }

FLOAT_ROWS_REF(f16, lq_fp16_to_fp32)
FLOAT_ROWS_REF(bf16, lq_bf16_to_fp32)

enum { N_ISA = 3 };

const lq_qdot_info *lq_qdot_float_lookup(uint32_t t, int isa) {
    static const lq_qdot_info f16[N_ISA] = {{LQ_TYPE_F32, lq_qdot_f16_ref, NULL},
                                            {LQ_TYPE_F32, lq_qdot_f16_avx2, NULL},
                                            {LQ_TYPE_F32, lq_qdot_f16_avx512, NULL}};
    static const lq_qdot_info bf16[N_ISA] = {{LQ_TYPE_F32, lq_qdot_bf16_ref, NULL},
                                             {LQ_TYPE_F32, lq_qdot_bf16_avx2, NULL},
                                             {LQ_TYPE_F32, lq_qdot_bf16_avx512, NULL}};
    if (isa < 0 || isa >= N_ISA) return NULL;
    if (t == LQ_TYPE_F16) return &f16[isa];
    if (t == LQ_TYPE_BF16) return &bf16[isa];
    return NULL;
}
