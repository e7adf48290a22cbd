/* Round-to-nearest quantization: each row through the type's reference
 * quantizer, rows in parallel. */
#include "algo/rtn.h"

#include "quant/quantize.h"
#include "quant/types.h"
#include "quant/types_llmq.h"

#include <ctype.h>
#include <string.h>

static void to_f32(const float *x, void *y, int64_t n) { memcpy(y, x, (size_t)n * sizeof(float)); }

static void to_f16(const float *x, void *y, int64_t n) {
    uint16_t *h = y;
    for (int64_t i = 0; i < n; i++) h[i] = lq_fp32_to_fp16(x[i]);
}

static void to_bf16(const float *x, void *y, int64_t n) {
    uint16_t *h = y;
    for (int64_t i = 0; i < n; i++) h[i] = lq_fp32_to_bf16(x[i]);
}

lq_from_float_ref_fn lq_rtn_row_fn(uint32_t type) {
    if (type == LQ_TYPE_F32) return to_f32;
    if (type == LQ_TYPE_F16) return to_f16;
    if (type == LQ_TYPE_BF16) return to_bf16;
    /* llama-quantize searches IQ4_NL scales; its _ref entry point does not */
    if (type == LQ_TYPE_IQ4_NL) return lq_quant_iq4_nl;
    const lq_type_traits *tr = lq_type_get(type);
    return tr ? tr->from_float_ref : NULL;
}

bool lq_rtn_type_from_name(const char *name, uint32_t *type) {
    for (uint32_t t = 0; t < LQ_TYPE_LLMQ_END; t++) {
        const lq_type_traits *tr = lq_type_get(t); /* GGML's ids, then llmq's from 64 */
        if (!tr || tr->deprecated || !lq_rtn_row_fn(t) || strlen(tr->name) != strlen(name)) continue;
        bool same = true;
        for (size_t i = 0; name[i] && same; i++) same = toupper((unsigned char)name[i]) == toupper((unsigned char)tr->name[i]);
        if (same && t != LQ_TYPE_Q8_1 && t != LQ_TYPE_Q8_K) { /* those two only ever hold activations */
            *type = t;
            return true;
        }
    }
    return false;
}

uint32_t lq_rtn_type_for_row(uint32_t want, int64_t ne0) {
    uint32_t t = want;
    if (ne0 % 256 != 0) {
        switch (want) {
        case LQ_TYPE_Q2_K: case LQ_TYPE_Q3_K: t = LQ_TYPE_Q4_0; break;
        case LQ_TYPE_Q4_K: t = LQ_TYPE_Q5_0; break;
        case LQ_TYPE_Q5_K: t = LQ_TYPE_Q5_1; break;
        case LQ_TYPE_Q6_K: t = LQ_TYPE_Q8_0; break;
        default: break;
        }
    }
    /* llmq's group types halve the group (same bits and symmetry) until rows fit */
    int bits, group;
    bool asym;
    while (lq_llmq_group_params(t, &bits, &group, &asym) && ne0 % group != 0 && group > 32) t -= 2;
    if (t == LQ_TYPE_F8_E4M3_G128 && ne0 % 128 != 0) t = LQ_TYPE_F8_E4M3_G32;
    /* rows that fit no block of the format at all stay F16, as llama-quantize does */
    const lq_type_traits *tr = lq_type_get(t);
    return tr && ne0 % tr->blck_size == 0 ? t : LQ_TYPE_F16;
}

llmq_status lq_rtn_quantize(const float *x, int64_t rows, int64_t cols, uint32_t type, void *out, int n_threads,
                            lq_err *e) {
    lq_from_float_ref_fn fn = lq_rtn_row_fn(type);
    size_t row_bytes = lq_row_size(type, cols);
    LQ_CHECK(fn, e, LLMQ_ERR_UNSUPPORTED, "cannot quantize to %s", lq_type_name(type));
    LQ_CHECK(row_bytes, e, LLMQ_ERR_SHAPE, "rows of %lld values do not fit %s blocks", (long long)cols,
             lq_type_name(type));
    uint8_t *o = out;
    #pragma omp parallel for num_threads(n_threads > 0 ? n_threads : lq_n_cpus()) schedule(dynamic, 16)
    for (int64_t r = 0; r < rows; r++) fn(x + r * cols, o + (size_t)r * row_bytes, cols);
    return LLMQ_OK;
}
