/* Float matrix products used by the forward passes.
 *
 * Y (n x out) = X (n x in) . W^T, W stored row-major (out x in), i.e. a
 * linear layer y = W x applied to n rows. n == 1 (generation) goes through a
 * vectorized, threaded GEMV; n > 1 through BLAS sgemm. */
#ifndef LQ_MATMUL_H
#define LQ_MATMUL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/activations.h"
#include "kernels/attention.h"

/* Dispatching entry point. n_threads <= 0: all cores. */
void lq_matmul_f32(float *Y, const float *X, const float *W, int n, int in, int out, int n_threads);

/* Threads OpenBLAS may use for the calls that follow (only changed when it
 * differs from the last value this thread set). */
void lq_blas_threads(int n);

/* Kernels behind it, exposed for tests and benchmarks. Each computes rows
 * [r0, r1) of y = W x for one input row x. */
typedef void (*lq_gemv_f32_fn)(float *y, const float *x, const float *W, int in, int r0, int r1);
void lq_gemv_f32_ref(float *y, const float *x, const float *W, int in, int r0, int r1);
void lq_gemv_f32_avx2(float *y, const float *x, const float *W, int in, int r0, int r1);
void lq_gemv_f32_avx512(float *y, const float *x, const float *W, int in, int r0, int r1);

/* Function table chosen once from CPUID (or LLMQ_ISA=ref|avx2|avx512). */
typedef struct lq_kernels {
    const char *isa;
    int level;                   /* 0 ref, 1 avx2, 2 avx512: the qdot families' ISA index */
    lq_gemv_f32_fn gemv_f32;
    lq_attn_row_fn attn_row_f32;
    lq_attn_row_kv_fn attn_row_f16; /* F16 KV cache */
    lq_attn_row_kv_fn attn_row_q8;  /* Q8 KV cache; avx2 (or no VNNI): reference */
    lq_softmax_fn softmax;
    lq_swiglu_fn swiglu;
    lq_quant_q8_0_fn quant_q8_0;    /* avx2: reference */
    lq_attn_causal_fn attn_causal;  /* NULL (ref, avx2): the decoder's blocked BLAS products instead */
    /* generation over F32 / F16 / Q8 caches in position chunks; NULL (ref, avx512 but Q8
     * without VNNI): whole rows per head */
    lq_attn_part_fn attn_part_f32, attn_part_f16, attn_part_q8;
} lq_kernels;
const lq_kernels *lq_kernels_get(void);

#endif
