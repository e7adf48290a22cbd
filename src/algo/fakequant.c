/* Quantize-then-dequantize through any weight quantizer. */
#include "algo/fakequant.h"

#include "algo/rtn.h"
#include "quant/types.h"

#include <stdlib.h>

llmq_status lq_fakequant(const lq_wquant *q, const float *W, int64_t rows, int64_t cols, uint32_t type, float *out,
                         int n_threads, lq_err *e) {
    const lq_type_traits *tr = lq_type_get(type);
    size_t row_bytes = lq_row_size(type, cols);
    LQ_CHECK(tr && tr->to_float && row_bytes, e, LLMQ_ERR_UNSUPPORTED, "cannot quantize rows of %lld values to %s",
             (long long)cols, lq_type_name(type));
    uint8_t *buf = lq_malloc_array((size_t)rows, row_bytes);
    LQ_CHECK(buf, e, LLMQ_ERR_NOMEM, "out of memory");
    llmq_status st = q && q->fn ? q->fn(W, rows, cols, type, buf, n_threads, q->user, e)
                                : lq_rtn_quantize(W, rows, cols, type, buf, n_threads, e);
    if (st == LLMQ_OK)
        for (int64_t r = 0; r < rows; r++) tr->to_float(buf + (size_t)r * row_bytes, out + r * cols, cols);
    free(buf);
    return st;
}
