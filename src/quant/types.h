/* Tensor element types. Ids 0..39 are GGML's (the numbers stored in GGUF
 * files); removed GGML ids are rejected as deprecated. Ids 64 and up are
 * llmq's own formats (quant/types_llmq.h, docs/FORMATS.md). The traits table says
 * how each type is laid out and how to turn a row of it into floats. */
#ifndef LQ_QUANT_TYPES_H
#define LQ_QUANT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum lq_type {
    LQ_TYPE_F32 = 0,
    LQ_TYPE_F16 = 1,
    LQ_TYPE_Q4_0 = 2,
    LQ_TYPE_Q4_1 = 3,
    /* 4, 5: removed Q4_2, Q4_3 */
    LQ_TYPE_Q5_0 = 6,
    LQ_TYPE_Q5_1 = 7,
    LQ_TYPE_Q8_0 = 8,
    LQ_TYPE_Q8_1 = 9,
    LQ_TYPE_Q2_K = 10,
    LQ_TYPE_Q3_K = 11,
    LQ_TYPE_Q4_K = 12,
    LQ_TYPE_Q5_K = 13,
    LQ_TYPE_Q6_K = 14,
    LQ_TYPE_Q8_K = 15,
    LQ_TYPE_IQ2_XXS = 16,
    LQ_TYPE_IQ2_XS = 17,
    LQ_TYPE_IQ3_XXS = 18,
    LQ_TYPE_IQ1_S = 19,
    LQ_TYPE_IQ4_NL = 20,
    LQ_TYPE_IQ3_S = 21,
    LQ_TYPE_IQ2_S = 22,
    LQ_TYPE_IQ4_XS = 23,
    LQ_TYPE_I8 = 24,
    LQ_TYPE_I16 = 25,
    LQ_TYPE_I32 = 26,
    LQ_TYPE_I64 = 27,
    LQ_TYPE_F64 = 28,
    LQ_TYPE_IQ1_M = 29,
    LQ_TYPE_BF16 = 30,
    /* 31-33: removed Q4_0_4_4, Q4_0_4_8, Q4_0_8_8 */
    LQ_TYPE_TQ1_0 = 34,
    LQ_TYPE_TQ2_0 = 35,
    /* 36-38: removed IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8 */
    LQ_TYPE_MXFP4 = 39,
    LQ_TYPE_GGML_COUNT = 40,
} lq_type;

/* Converts n_blocks*blck_size values of one row to float (several rows at
 * once for types without a row header; exactly one row of n values for
 * types with row_header > 0). */
typedef void (*lq_to_float_fn)(const void *src, float *dst, int64_t n);
/* Quantizes n values (a multiple of the block size) of one row. */
typedef void (*lq_from_float_ref_fn)(const float *src, void *dst, int64_t n);

typedef struct lq_type_traits {
    const char *name;      /* "Q4_K"; NULL for ids that do not exist */
    int blck_size;         /* values per block (1 for plain types) */
    size_t type_size;      /* bytes per block */
    bool deprecated;       /* id was removed from GGML */
    lq_to_float_fn to_float; /* NULL: known but cannot be dequantized here */
    lq_from_float_ref_fn from_float_ref; /* GGML types: byte-identical with ggml's _ref; NULL: none yet */
    size_t row_header;     /* bytes before each row's blocks (a per-row scale of
                              llmq's row-wise types); 0 for every GGML type */
} lq_type_traits;

/* Traits of type id t, or NULL when t is out of range or never existed. */
const lq_type_traits *lq_type_get(uint32_t t);
/* Name of type id t, or "?" */
const char *lq_type_name(uint32_t t);
/* Bytes of a row of n values of type t (row_header + n/blck_size blocks);
 * 0 if n is not a multiple of the block size, t is unknown, or the size
 * overflows. */
size_t lq_row_size(uint32_t t, int64_t n);

/* Scalar conversions, exact as GGML's reference. */
float lq_fp16_to_fp32(uint16_t h);
uint16_t lq_fp32_to_fp16(float f);
float lq_bf16_to_fp32(uint16_t h);
uint16_t lq_fp32_to_bf16(float f); /* round to nearest even, NaN kept quiet */

#endif
