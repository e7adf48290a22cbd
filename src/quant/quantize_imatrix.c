/* lq_quantize_rows_imatrix: the row loop and the choice of quantizer per
 * type (importance-weighted with an imatrix, the reference without). */
#include "quant/quantize_imatrix.h"

#include "quant/quantize.h"
#include "quant/quantize_imatrix_internal.h"
#include "quant/types.h"
#include "quant/types_llmq.h"

typedef void (*imq_row_fn)(const float *x, void *y, int64_t n, const float *qw);

/* importance-weighted row quantizer of a GGML type; NULL if none */
static imq_row_fn ggml_weighted(uint32_t type)
{
    switch (type) {
    case LQ_TYPE_Q4_0: return imq_q4_0_row;
    case LQ_TYPE_Q4_1: return imq_q4_1_row;
    case LQ_TYPE_Q5_0: return imq_q5_0_row;
    case LQ_TYPE_Q5_1: return imq_q5_1_row;
    case LQ_TYPE_IQ4_NL: return imq_iq4_nl_row;
    case LQ_TYPE_Q2_K: return imq_q2_k_row;
    case LQ_TYPE_Q3_K: return imq_q3_k_row;
    case LQ_TYPE_Q4_K: return imq_q4_k_row;
    case LQ_TYPE_Q5_K: return imq_q5_k_row;
    case LQ_TYPE_Q6_K: return imq_q6_k_row;
    default: return NULL;
    }
}

static bool is_llmq_weighted(uint32_t type)
{
    int bits, group;
    bool asym;
    return type == LQ_TYPE_I8_CH || type == LQ_TYPE_NF4 || lq_llmq_group_params(type, &bits, &group, &asym);
}

bool lq_imatrix_supported(uint32_t type)
{
    return type == LQ_TYPE_Q8_0 || ggml_weighted(type) || is_llmq_weighted(type);
}

/* one row without an imatrix: the reference quantizer (IQ4_NL: the
 * searching one llama-quantize runs) */
static void row_ref(uint32_t type, const float *x, void *y, int64_t n)
{
    if (type == LQ_TYPE_IQ4_NL) lq_quant_iq4_nl(x, y, n);
    else lq_type_get(type)->from_float_ref(x, y, n);
}

void lq_quantize_rows_imatrix(uint32_t type, const float *x, void *y, int64_t nrows, int64_t n_per_row,
                              const float *imatrix)
{
    if (!lq_imatrix_supported(type)) return;
    const size_t row_bytes = lq_row_size(type, n_per_row);
    if (!row_bytes) return;
    const imq_row_fn weighted = ggml_weighted(type);
    uint8_t *out = y;
    for (int64_t r = 0; r < nrows; r++, x += n_per_row, out += row_bytes) {
        if (!imatrix || type == LQ_TYPE_Q8_0) row_ref(type, x, out, n_per_row); /* ggml's Q8_0 ignores it */
        else if (weighted) weighted(x, out, n_per_row, imatrix);
        else imq_llmq_row(type, x, out, n_per_row, imatrix);
    }
}
