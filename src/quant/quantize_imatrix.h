/* Importance-weighted quantizers: what llama-quantize writes when it is
 * given an importance matrix (ggml_quantize_chunk with imatrix != NULL),
 * byte for byte, for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K and IQ4_NL;
 * and an importance-weighted scale (and zero point) search for llmq's own
 * group formats (I{2,3,4,8}_G{32,64,128}{S,A}), I8_CH and NF4. */
#ifndef LQ_QUANT_QUANTIZE_IMATRIX_H
#define LQ_QUANT_QUANTIZE_IMATRIX_H

#include <stdbool.h>
#include <stdint.h>

/* nrows rows of n_per_row values (x, row-major) into nrows rows of type
 * (lq_row_size(type, n_per_row) bytes each) at y. imatrix: one importance
 * per column (n_per_row floats, >= 0), or NULL: then every type gives the
 * bytes of its reference quantizer (what lq_rtn_quantize writes; for GGML
 * types what ggml_quantize_chunk writes without an imatrix). Q8_0 ignores
 * the imatrix, as ggml does. type must satisfy lq_imatrix_supported and
 * n_per_row must be a multiple of its block size. */
void lq_quantize_rows_imatrix(uint32_t type, const float *x, void *y, int64_t nrows, int64_t n_per_row,
                              const float *imatrix);

/* True for the types lq_quantize_rows_imatrix handles. */
bool lq_imatrix_supported(uint32_t type);

#endif
