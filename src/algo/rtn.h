/* Round-to-nearest quantization of whole matrices with the reference
 * quantizers (llama-quantize without an importance matrix). */
#ifndef LQ_ALGO_RTN_H
#define LQ_ALGO_RTN_H

#include "core/lq.h"
#include "quant/types.h"

/* Type id for a GGML type name ("Q4_K", "q8_0", "F16"); false if unknown or
 * if llmq cannot quantize to it. */
bool lq_rtn_type_from_name(const char *name, uint32_t *type);

/* The type a row of ne0 values actually gets when want is asked for: the
 * 256-value super-block formats fall back as llama.cpp does for rows that are
 * not a multiple of 256 (Q2_K, Q3_K -> IQ4_NL, Q4_K -> Q5_0, Q5_K -> Q5_1,
 * Q6_K -> Q8_0), llmq's group types take the next smaller group (G128 -> G64
 * -> G32); rows that fit no block of the result are kept in F16. */
uint32_t lq_rtn_type_for_row(uint32_t want, int64_t ne0);

/* The row quantizer rtn uses for type (the reference one; IQ4_NL's with its
 * scale search, as llama-quantize), or NULL when llmq cannot write type. */
lq_from_float_ref_fn lq_rtn_row_fn(uint32_t type);

/* x (rows, cols) F32 -> rows of type into out (rows * lq_row_size(type, cols)
 * bytes). Rows are independent, so the bytes do not depend on n_threads. */
llmq_status lq_rtn_quantize(const float *x, int64_t rows, int64_t cols, uint32_t type, void *out, int n_threads,
                            lq_err *e);

#endif
