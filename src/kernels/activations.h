/* Softmax and SwiGLU rows: the scalar reference (model/layers.c's math) and
 * an AVX-512 version with a vector exp (within a few float ulps of it; the
 * kernel tests hold the two together). lq_kernels_get() picks one. */
#ifndef LQ_KERNELS_ACTIVATIONS_H
#define LQ_KERNELS_ACTIVATIONS_H

#include <stddef.h>
#include <stdint.h>

/* row (n): softmax in place */
typedef void (*lq_softmax_fn)(float *row, int n);
void lq_softmax_ref(float *row, int n);
void lq_softmax_avx2(float *row, int n);
void lq_softmax_avx512(float *row, int n);

/* g (n) = silu(g) * u */
typedef void (*lq_swiglu_fn)(float *g, const float *u, size_t n);
void lq_swiglu_ref(float *g, const float *u, size_t n);
void lq_swiglu_avx2(float *g, const float *u, size_t n);
void lq_swiglu_avx512(float *g, const float *u, size_t n);

/* x (n, a multiple of 32) -> Q8_0 blocks, the same bytes as
 * lq_quant_q8_0_ref (which is the reference here); for activations kept in
 * 8 bits between calibration passes */
typedef void (*lq_quant_q8_0_fn)(const float *x, void *y, int64_t n);
void lq_quant_q8_0_avx512(const float *x, void *y, int64_t n);

#endif
