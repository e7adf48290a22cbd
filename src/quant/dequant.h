/* Row dequantizers: n values (a multiple of the block size) of one type to
 * float, bit-exact with ggml's dequantize_row_* reference code. */
#ifndef LQ_QUANT_DEQUANT_H
#define LQ_QUANT_DEQUANT_H

#include <stdint.h>

void lq_dequant_f32(const void *src, float *dst, int64_t n);
void lq_dequant_f16(const void *src, float *dst, int64_t n);
void lq_dequant_bf16(const void *src, float *dst, int64_t n);
void lq_dequant_f64(const void *src, float *dst, int64_t n);
void lq_dequant_q4_0(const void *src, float *dst, int64_t n);
void lq_dequant_q4_1(const void *src, float *dst, int64_t n);
void lq_dequant_q5_0(const void *src, float *dst, int64_t n);
void lq_dequant_q5_1(const void *src, float *dst, int64_t n);
void lq_dequant_q8_0(const void *src, float *dst, int64_t n);
void lq_dequant_q8_1(const void *src, float *dst, int64_t n);
void lq_dequant_iq4_nl(const void *src, float *dst, int64_t n);
void lq_dequant_mxfp4(const void *src, float *dst, int64_t n);
void lq_dequant_q2_k(const void *src, float *dst, int64_t n);
void lq_dequant_q3_k(const void *src, float *dst, int64_t n);
void lq_dequant_q4_k(const void *src, float *dst, int64_t n);
void lq_dequant_q5_k(const void *src, float *dst, int64_t n);
void lq_dequant_q6_k(const void *src, float *dst, int64_t n);
void lq_dequant_q8_k(const void *src, float *dst, int64_t n);

#endif
