/* Method dispatch for one matrix. */
#include "algo/wmethod.h"

#include "algo/gptq.h"
#include "algo/hqq.h"
#include "algo/rtn.h"
#include "quant/grid.h"
#include "quant/quantize_imatrix.h"
#include "quant/types.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"rtn", "imatrix", "gptq", "awq", "hqq"};

bool lq_method_from_name(const char *name, lq_method *m) {
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (!strcmp(name, names[i])) {
            *m = (lq_method)i;
            return true;
        }
    return false;
}

const char *lq_method_name(lq_method m) { return (unsigned)m < sizeof names / sizeof names[0] ? names[m] : "?"; }

bool lq_method_needs_calib(lq_method m) { return m == LQ_METHOD_GPTQ || m == LQ_METHOD_AWQ; }

lq_wmethod_params lq_wmethod_default_params(void) {
    lq_wmethod_params p = {0.01f, 128, false};
    return p;
}

// Round to nearest, importance-weighted where the type has such a quantizer
static llmq_status rtn(const float *W, int64_t rows, int64_t cols, uint32_t type, const float *imp, void *out,
                       int nt, lq_err *e) {
    if (!imp || !lq_imatrix_supported(type)) return lq_rtn_quantize(W, rows, cols, type, out, nt, e);
    size_t rb = lq_row_size(type, cols);
    LQ_CHECK(rb, e, LLMQ_ERR_SHAPE, "rows of %lld values do not fit %s blocks", (long long)cols, lq_type_name(type));
    /* rows in fixed chunks, so the bytes do not depend on the thread count */
    int64_t chunk = 16;
    #pragma omp parallel for num_threads(nt > 0 ? nt : lq_n_cpus()) schedule(dynamic, 1)
    for (int64_t r0 = 0; r0 < rows; r0 += chunk)
        lq_quantize_rows_imatrix(type, W + r0 * cols, (uint8_t *)out + (size_t)r0 * rb, LQ_MIN(chunk, rows - r0), cols,
                                 imp);
    return LLMQ_OK;
}

llmq_status lq_wmethod_quantize(lq_method m, const lq_wmethod_params *p, const float *W, int64_t rows, int64_t cols,
                                uint32_t type, const lq_wstats *s, void *out, int n_threads, bool *fell_back,
                                lq_err *e) {
    lq_wmethod_params P = p ? *p : lq_wmethod_default_params();
    const float *imp = s ? s->imp : NULL, *H = s ? s->H : NULL;
    if (fell_back) *fell_back = false;
    if (m == LQ_METHOD_GPTQ && H && lq_grid_supported(type)) {
        lq_gptq_params gp = lq_gptq_default_params();
        gp.damp = P.gptq_damp;
        gp.block = P.gptq_block;
        gp.act_order = P.gptq_act_order;
        return lq_gptq_quantize(W, rows, cols, H, type, &gp, out, n_threads, e);
    }
    if (m == LQ_METHOD_HQQ && lq_hqq_supported(type)) {
        lq_hqq_params hp = lq_hqq_default_params();
        return lq_hqq_quantize(W, rows, cols, type, &hp, out, n_threads, e);
    }
    if (fell_back) *fell_back = m == LQ_METHOD_GPTQ || m == LQ_METHOD_HQQ;
    return rtn(W, rows, cols, type, imp, out, n_threads, e);
}

double lq_wmethod_rel_error(const float *W, int64_t rows, int64_t cols, uint32_t type, const void *q,
                            const float *imp) {
    const lq_type_traits *tr = lq_type_get(type);
    size_t rb = lq_row_size(type, cols);
    float *row = malloc((size_t)cols * sizeof(float));
    if (!tr || !tr->to_float || !rb || !row) {
        free(row);
        return -1;
    }
    double num = 0, den = 0;
    for (int64_t r = 0; r < rows; r++) {
        tr->to_float((const uint8_t *)q + (size_t)r * rb, row, cols);
        for (int64_t c = 0; c < cols; c++) {
            double w = W[r * cols + c], d = w - row[c], k = imp ? imp[c] : 1.0;
            num += k * d * d;
            den += k * w * w;
        }
    }
    free(row);
    return den > 0 ? num / den : 0;
}
