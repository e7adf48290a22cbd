/* Reference quantizers: n floats (a multiple of the block size) of one row
 * into GGML blocks, byte-identical to ggml's quantize_row_*_ref (what
 * llama-quantize writes when no importance matrix is given). Scalar C: these
 * are the specification later SIMD and calibrated quantizers are held to. */
#ifndef LQ_QUANT_QUANTIZE_H
#define LQ_QUANT_QUANTIZE_H

#include <stdint.h>

typedef void (*lq_from_float_fn)(const float *src, void *dst, int64_t n);

void lq_quant_q4_0_ref(const float *x, void *y, int64_t n);
void lq_quant_q4_1_ref(const float *x, void *y, int64_t n);
void lq_quant_q5_0_ref(const float *x, void *y, int64_t n);
void lq_quant_q5_1_ref(const float *x, void *y, int64_t n);
void lq_quant_q8_0_ref(const float *x, void *y, int64_t n);
void lq_quant_q8_1_ref(const float *x, void *y, int64_t n);
void lq_quant_iq4_nl_ref(const float *x, void *y, int64_t n);
/* IQ4_NL as llama-quantize writes it (quantize_iq4_nl: a 15-step scale
 * search per block), which differs from ggml's _ref entry point. */
void lq_quant_iq4_nl(const float *x, void *y, int64_t n);
/* n floats (a multiple of 32) into n/32 block_mxfp4, as quantize_row_mxfp4_ref */
void lq_quant_mxfp4_ref(const float *x, void *y, int64_t n);

void lq_quant_q2_k_ref(const float *x, void *y, int64_t n);
void lq_quant_q3_k_ref(const float *x, void *y, int64_t n);
void lq_quant_q4_k_ref(const float *x, void *y, int64_t n);
void lq_quant_q5_k_ref(const float *x, void *y, int64_t n);
void lq_quant_q6_k_ref(const float *x, void *y, int64_t n);
void lq_quant_q8_k_ref(const float *x, void *y, int64_t n);

#endif
