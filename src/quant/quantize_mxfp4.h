/* MXFP4 reference quantizer, byte-identical to ggml's quantize_row_mxfp4_ref. */
#ifndef LQ_QUANT_QUANTIZE_MXFP4_H
#define LQ_QUANT_QUANTIZE_MXFP4_H

#include <stdint.h>

/* n floats (a multiple of 32) into n/32 block_mxfp4 */
void lq_quant_mxfp4_ref(const float *x, void *y, int64_t n);

#endif
