/* Quantized GEMV kernels: weight rows of a quantized type against one
 * activation row quantized to that type's "activation type" (Q8_0, Q8_1 or
 * Q8_K, as llama.cpp's vec_dot_type).
 *
 * A kernel computes y[r] for rows r in [r0, r1):
 *     y[r] = dot(W row r, x)
 * W is row-major with row_bytes bytes per row, xq is x quantized to the
 * activation type (n values, n a multiple of the weight block size).
 *
 * Bit-exactness contract: every integer part is exact (int32 sums, no
 * saturation), and the float part follows the order the _ref kernel defines
 * (documented per format in its ref file), with separate multiply and add
 * (the build uses -ffp-contract=off). So the AVX2 and AVX-512 kernels give
 * the same bits as _ref, and tests compare them with memcmp.
 *
 * Activation codes are in [-127, 127], as the Q8 quantizers make them
 * (round(x / (max|x| / 127))); a code of -128 is outside the contract
 * (the AVX2 Q8_0 and IQ4_NL kernels negate activations). Weight blocks
 * may hold any bytes: they come from files. */
#ifndef LQ_KERNELS_QDOT_H
#define LQ_KERNELS_QDOT_H

#include <stddef.h>
#include <stdint.h>

/* llvm-mca regions around the hot loops' bodies (scripts/mca_qdot.sh
 * compiles with -DLQ_MCA: a static throughput estimate for CPUs not at
 * hand); nothing in a normal build */
#ifdef LQ_MCA
#define LQ_MCA_BEGIN() __asm__ volatile("# LLVM-MCA-BEGIN")
#define LQ_MCA_END() __asm__ volatile("# LLVM-MCA-END")
#else
#define LQ_MCA_BEGIN() ((void)0)
#define LQ_MCA_END() ((void)0)
#endif

typedef void (*lq_qdot_rows_fn)(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0,
                                int r1);

#define LQ_QDOT_DECL(t)                                                                              \
    void lq_qdot_##t##_ref(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1);  \
    void lq_qdot_##t##_avx2(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1); \
    void lq_qdot_##t##_avx512(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1);

/* legacy 32-blocks: activations Q8_0 (Q8_1 for q4_1, q5_1) */
LQ_QDOT_DECL(q4_0)
LQ_QDOT_DECL(q4_1)
LQ_QDOT_DECL(q5_0)
LQ_QDOT_DECL(q5_1)
LQ_QDOT_DECL(q8_0)
LQ_QDOT_DECL(iq4_nl)
LQ_QDOT_DECL(mxfp4)
/* 16-bit floats: activations F32 */
LQ_QDOT_DECL(f16)
LQ_QDOT_DECL(bf16)
/* K-quants: activations Q8_K */
LQ_QDOT_DECL(q2_k)
LQ_QDOT_DECL(q3_k)
LQ_QDOT_DECL(q4_k)
LQ_QDOT_DECL(q5_k)
LQ_QDOT_DECL(q6_k)

/* Per family lookups (each family's file): the info of weight type t for
 * ISA index isa (0 ref, 1 avx2, 2 avx512), NULL when the family does not
 * hold t. They do not check the CPU; lq_qdot_get_isa does. */
const struct lq_qdot_info *lq_qdot_legacy_lookup(uint32_t t, int isa);
const struct lq_qdot_info *lq_qdot_kquants_lookup(uint32_t t, int isa);
const struct lq_qdot_info *lq_qdot_llmq_lookup(uint32_t t, int isa);
const struct lq_qdot_info *lq_qdot_float_lookup(uint32_t t, int isa);

/* Kernels of a weight type for the running CPU (or LLMQ_ISA), NULL when the
 * type has none (the caller then dequantizes to F32). */
struct lq_qdot_info;
typedef struct lq_qdot_info {
    uint32_t act_type;   /* lq_type the activation row must be quantized to */
    lq_qdot_rows_fn rows;
    /* NULL: rows reads GGUF rows; else rows reads planar rows of this
     * layout (kernels/planar.h: pack them first; lq_qweight_init does) */
    const struct lq_planar *planar;
} lq_qdot_info;
const lq_qdot_info *lq_qdot_get(uint32_t weight_type);
/* The same for a given ISA index: 0 ref, 1 avx2, 2 avx512 (tests). NULL when
 * the type has no kernel or the CPU lacks the ISA. */
const lq_qdot_info *lq_qdot_get_isa(uint32_t weight_type, int isa);

#endif
