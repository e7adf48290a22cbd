/* HQQ zero-point optimization for asymmetric group formats (see hqq.h).
 * Deviations from the reference implementation (mobiusml/hqq,
 * optimize_weights_proximal_legacy), each for a reason:
 *  - the early stop (mean |W - W_r| no longer falling) is judged per group,
 *    not over the whole tensor, so rows are independent and the result does
 *    not depend on how rows are split among threads;
 *  - the zero point is re-rounded to fp16 after every update and the codes
 *    are computed against the stored fp16 scale and zero point, so the
 *    optimization sees exactly what the format will decode;
 *  - the state written is the best in the lp objective among the min/max
 *    start and the iterates (the reference returns its last update). */
#include "algo/hqq.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "quant/blocks.h"
#include "quant/types.h"
#include "quant/types_llmq.h"

#define HQQ_MAX_GROUP 128

lq_hqq_params lq_hqq_default_params(void)
{
    const lq_hqq_params p = {0.7f, 1e1f, 1.01f, 20};
    return p;
}

/* How a supported format stores a group. */
typedef enum { FMT_LLMQ, FMT_Q4_1, FMT_Q5_1 } hqq_fmt;

typedef struct {
    hqq_fmt fmt;
    int bits, group, top;
    uint32_t type;
} hqq_shape;

static bool shape_of(uint32_t type, hqq_shape *s)
{
    bool asym = false;
    s->type = type;
    if (type == LQ_TYPE_Q4_1 || type == LQ_TYPE_Q5_1) {
        s->fmt = type == LQ_TYPE_Q4_1 ? FMT_Q4_1 : FMT_Q5_1;
        s->bits = type == LQ_TYPE_Q4_1 ? 4 : 5;
        s->group = 32;
    } else if (lq_llmq_group_params(type, &s->bits, &s->group, &asym) && asym) {
        s->fmt = FMT_LLMQ;
    } else {
        return false;
    }
    s->top = (1 << s->bits) - 1;
    return true;
}

bool lq_hqq_supported(uint32_t type)
{
    hqq_shape s;
    return shape_of(type, &s);
}

static float fp16_round(float v) { return lq_fp16_to_fp32(lq_fp32_to_fp16(v)); }

/* nearest even, clamped to [0, top]; NaN -> 0 */
static int round_clamp(float v, int top)
{
    if (!(v == v)) v = 0.0f;
    v = nearbyintf(v);
    return v < 0.0f ? 0 : v > (float)top ? top : (int)v;
}

/* sum |x - (d * c + m)|^p over the group */
static double lp_error(const float *x, int n, float d, float m, const uint8_t *c, float p)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += pow(fabs((double)x[i] - (double)(d * (float)c[i] + m)), p);
    return s;
}

/* The format's own round-to-nearest codes from min/max (its reference
 * quantizer's arithmetic), with the stored d and m. */
static void rtn_group(const hqq_shape *s, const float *x, float *d16, float *m16, uint8_t *c)
{
    const int n = s->group;
    float min = FLT_MAX, max = -FLT_MAX;
    for (int i = 0; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
    }
    const float d = (max - min) / (float)s->top;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int i = 0; i < n; i++) {
        const float v = (x[i] - min) * id;
        if (s->fmt == FMT_LLMQ) c[i] = (uint8_t)round_clamp(v, s->top);
        else if (s->fmt == FMT_Q4_1) c[i] = (uint8_t)((int8_t)(v + 0.5f) < 15 ? (int8_t)(v + 0.5f) : 15);
        else c[i] = (uint8_t)(v + 0.5f); /* ggml's Q5_1: no clamp, the fifth bit keeps 0..31 */
    }
    *d16 = fp16_round(d);
    *m16 = fp16_round(min);
}

/* generalized soft-thresholding for the lp norm:
 * sign(e) * max(|e| - |e|^(p-1) / beta, 0) (the reference's 1e-8 included) */
static float shrink(float e, float beta, float p)
{
    const float a = fabsf(e);
    const float t = a - (1.0f / beta) * powf(a + 1e-8f, p - 1.0f);
    return t > 0.0f ? copysignf(t, e) : 0.0f;
}

/* One group: best (d, m, codes) in the lp objective. */
static void hqq_group(const hqq_shape *s, const float *x, const lq_hqq_params *p, float *d_out, float *m_out,
                      uint8_t *c_out)
{
    const int n = s->group;
    float d, m;
    rtn_group(s, x, &d, &m, c_out);
    double best = lp_error(x, n, d, m, c_out, p->lp_norm);
    *d_out = d;
    *m_out = m;
    if (d == 0.0f || !isfinite(d)) return;
    uint8_t c[HQQ_MAX_GROUP];
    float beta = p->beta, best_l1 = FLT_MAX;
    for (int it = 0; it < p->iters; it++) {
        /* W_q with the stored scale and zero point; the state's errors */
        float l1 = 0, zsum = 0;
        for (int i = 0; i < n; i++) {
            c[i] = (uint8_t)round_clamp((x[i] - m) / d, s->top);
            const float r = d * (float)c[i] + m;
            l1 += fabsf(x[i] - r);
            /* the zero point that fits W - shrink(W - W_r) */
            zsum += x[i] - shrink(x[i] - r, beta, p->lp_norm) - d * (float)c[i];
        }
        const double obj = lp_error(x, n, d, m, c, p->lp_norm);
        if (obj < best) {
            best = obj;
            *m_out = m;
            memcpy(c_out, c, (size_t)n);
        }
        if (!(l1 < best_l1)) break; /* the reference's stop: mean |W - W_r| no longer falls */
        best_l1 = l1;
        m = fp16_round(zsum / (float)n);
        beta *= p->kappa;
        if (!isfinite(m)) break;
    }
}

static void pack_q5_1(const uint8_t *c, block_q5_1 *b)
{
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        b->qs[j] = (uint8_t)((c[j] & 0x0F) | ((c[j + 16] & 0x0F) << 4));
        qh |= ((uint32_t)(c[j] & 0x10) >> 4) << j;
        qh |= ((uint32_t)(c[j + 16] & 0x10) >> 4) << (j + 16);
    }
    for (int k = 0; k < 4; k++) b->qh[k] = (uint8_t)(qh >> (8 * k));
}

static void hqq_row(const hqq_shape *s, const float *x, int64_t n, const lq_hqq_params *p, uint8_t *out)
{
    const int ub = lq_llmq_unit_bytes(s->bits);
    for (int64_t g = 0; g < n / s->group; g++, x += s->group) {
        float d, m;
        uint8_t c[HQQ_MAX_GROUP];
        hqq_group(s, x, p, &d, &m, c);
        const uint16_t d16 = lq_fp32_to_fp16(d), m16 = lq_fp32_to_fp16(m);
        if (s->fmt == FMT_LLMQ) {
            memcpy(out, &d16, 2);
            memcpy(out + 2, &m16, 2);
            out += 4;
            for (int u = 0; u < s->group / 32; u++, out += ub) lq_llmq_pack_unit(s->bits, c + 32 * u, out);
        } else if (s->fmt == FMT_Q4_1) {
            block_q4_1 *b = (block_q4_1 *)out;
            b->d = d16;
            b->m = m16;
            for (int j = 0; j < 16; j++) b->qs[j] = (uint8_t)(c[j] | (c[j + 16] << 4));
            out += sizeof *b;
        } else {
            block_q5_1 *b = (block_q5_1 *)out;
            b->d = d16;
            b->m = m16;
            pack_q5_1(c, b);
            out += sizeof *b;
        }
    }
}

llmq_status lq_hqq_quantize(const float *W, int64_t rows, int64_t cols, uint32_t type, const lq_hqq_params *p,
                            void *out, int n_threads, lq_err *e)
{
    hqq_shape s;
    LQ_CHECK(shape_of(type, &s), e, LLMQ_ERR_UNSUPPORTED,
             "HQQ optimizes the zero point of asymmetric group formats (I<b>_G<g>A, Q4_1, Q5_1); %s has none to "
             "optimize", lq_type_name(type));
    const lq_hqq_params prm = p ? *p : lq_hqq_default_params();
    LQ_CHECK(prm.lp_norm > 0.0f && prm.lp_norm <= 1.0f && prm.beta > 0.0f && prm.kappa >= 1.0f && prm.iters >= 0, e,
             LLMQ_ERR_ARG, "HQQ parameters out of range (need 0 < p <= 1, beta > 0, kappa >= 1, iters >= 0)");
    LQ_CHECK(W && out && rows >= 0, e, LLMQ_ERR_ARG, "HQQ: no input or output");
    const size_t row_bytes = lq_row_size(type, cols);
    LQ_CHECK(row_bytes && cols % s.group == 0, e, LLMQ_ERR_SHAPE, "rows of %lld values do not fit %s blocks",
             (long long)cols, lq_type_name(type));
    uint8_t *o = out;
    #pragma omp parallel for num_threads(n_threads > 0 ? n_threads : lq_n_cpus()) schedule(dynamic, 16)
    for (int64_t r = 0; r < rows; r++) hqq_row(&s, W + r * cols, cols, &prm, o + (size_t)r * row_bytes);
    return LLMQ_OK;
}
