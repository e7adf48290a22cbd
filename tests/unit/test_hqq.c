/* HQQ (algo/hqq.h): refuses formats without a zero point and bad
 * parameters; the same bytes at any thread count; every group at least as
 * good as round-to-nearest in the lp objective on synthetic rows; and on
 * real SmolLM2-135M weights (models/SmolLM2-135M-Instruct-F32.gguf, skipped
 * with a message when missing) a lower mean |W - Q|^0.7 than rtn at 4, 3
 * and 2 bits (I4_G64A, I3_G64A, I2_G64A; Q4_1 ties, see below), and a lower
 * L2 error too. Both ratios are printed. */
#include "algo/hqq.h"
#include "algo/rtn.h"
#include "io/gguf.h"
#include "io/mapfile.h"
#include "quant/types.h"
#include "quant/types_llmq.h"
#include "test.h"

#include <stdint.h>

static const uint32_t SUPPORTED[] = {LQ_TYPE_I2_G32A, LQ_TYPE_I2_G64A,  LQ_TYPE_I3_G64A, LQ_TYPE_I3_G128A,
                                     LQ_TYPE_I4_G64A, LQ_TYPE_I4_G128A, LQ_TYPE_I8_G32A, LQ_TYPE_Q4_1,
                                     LQ_TYPE_Q5_1};
#define N_SUPPORTED (sizeof SUPPORTED / sizeof SUPPORTED[0])

/* deterministic pseudo-random weights: mostly small, some heavy tails */
static void make_weights(float *w, int64_t n, uint32_t seed)
{
    uint32_t s = seed;
    for (int64_t i = 0; i < n; i++) {
        float u = 0;
        for (int k = 0; k < 4; k++) {
            s = s * 1664525u + 1013904223u;
            u += (float)(s >> 8) / 16777216.0f;
        }
        u -= 2.0f; /* ~ normal, sd 0.58 */
        s = s * 1664525u + 1013904223u;
        w[i] = (s >> 28) == 0 ? 4.0f * u : 0.05f * u;
    }
}

/* sum |a - b|^p and sum (a - b)^2 */
static void errors(const float *a, const float *b, int64_t n, double p, double *lp, double *l2)
{
    double s = 0, q = 0;
    for (int64_t i = 0; i < n; i++) {
        const double d = (double)a[i] - b[i];
        s += pow(fabs(d), p);
        q += d * d;
    }
    *lp = s;
    *l2 = q;
}

static void test_refusals(void)
{
    enum { R = 4, C = 256 };
    static float w[R * C];
    static uint8_t out[R * C * 4];
    make_weights(w, R * C, 1);
    lq_err e = {0};
    const uint32_t refused[] = {LQ_TYPE_Q4_0, LQ_TYPE_Q8_0, LQ_TYPE_Q4_K, LQ_TYPE_I4_G64S, LQ_TYPE_NF4, LQ_TYPE_F16};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CHECK_EQ_INT(lq_hqq_quantize(w, R, C, refused[i], NULL, out, 1, &e), LLMQ_ERR_UNSUPPORTED);
        CHECK(!lq_hqq_supported(refused[i]));
    }
    printf("refusal message: %s\n", e.msg);
    lq_hqq_params p = lq_hqq_default_params();
    CHECK(p.lp_norm == 0.7f && p.beta == 10.0f && p.kappa == 1.01f && p.iters == 20);
    p.lp_norm = 2.0f;
    CHECK_EQ_INT(lq_hqq_quantize(w, R, C, LQ_TYPE_Q4_1, &p, out, 1, &e), LLMQ_ERR_ARG);
    CHECK_EQ_INT(lq_hqq_quantize(w, R, 48, LQ_TYPE_I4_G64A, NULL, out, 1, &e), LLMQ_ERR_SHAPE);
}

/* bytes independent of the thread count; per group lp <= rtn's */
static void test_synthetic(void)
{
    enum { R = 37, C = 512 };
    static float w[R * C], back_h[R * C], back_r[R * C];
    static uint8_t q1[R * C * 4], q4[R * C * 4], qr[R * C * 4];
    make_weights(w, R * C, 7);
    for (size_t t = 0; t < N_SUPPORTED; t++) {
        const uint32_t type = SUPPORTED[t];
        lq_err e = {0};
        const size_t bytes = (size_t)R * lq_row_size(type, C);
        memset(q1, 0, bytes);
        memset(q4, 0xFF, bytes);
        CHECK_EQ_INT(lq_hqq_quantize(w, R, C, type, NULL, q1, 1, &e), LLMQ_OK);
        CHECK_EQ_INT(lq_hqq_quantize(w, R, C, type, NULL, q4, 4, &e), LLMQ_OK);
        CHECK_MSG(test_first_diff(q1, q4, bytes) < 0, "%s: 1 and 4 threads differ", lq_type_name(type));
        CHECK_EQ_INT(lq_rtn_quantize(w, R, C, type, qr, 1, &e), LLMQ_OK);
        const lq_type_traits *tr = lq_type_get(type);
        const int group = tr->blck_size;
        for (int r = 0; r < R; r++) {
            tr->to_float(q1 + r * lq_row_size(type, C), back_h + r * C, C);
            tr->to_float(qr + r * lq_row_size(type, C), back_r + r * C, C);
        }
        int worse = 0;
        double lh_sum = 0, lr_sum = 0;
        for (int64_t g = 0; g < (int64_t)R * C / group; g++) {
            double lh, lr, l2;
            errors(w + g * group, back_h + g * group, group, 0.7, &lh, &l2);
            errors(w + g * group, back_r + g * group, group, 0.7, &lr, &l2);
            worse += lh > lr * (1 + 1e-12);
            lh_sum += lh;
            lr_sum += lr;
        }
        CHECK_MSG(worse == 0, "%s: %d groups worse than rtn in |e|^0.7", lq_type_name(type), worse);
        CHECK_MSG(lh_sum < lr_sum, "%s: lp %.6g not below rtn %.6g", lq_type_name(type), lh_sum, lr_sum);
        printf("synthetic %-9s lp(hqq)/lp(rtn) = %.4f\n", lq_type_name(type), lh_sum / lr_sum);
    }
}

/* real weights: mean |W - Q|^0.7 and L2 of HQQ vs rtn */
static void test_smollm2(void)
{
    lq_mapfile m;
    lq_err e = {0};
    if (lq_map_open(TEST_PATH("models/SmolLM2-135M-Instruct-F32.gguf"), &m, &e) != LLMQ_OK) {
        printf("SKIP SmolLM2 F32 test: models/SmolLM2-135M-Instruct-F32.gguf missing (%s)\n", e.msg);
        return;
    }
    lq_gguf *g = NULL;
    CHECK(lq_gguf_parse(m.data, m.len, &g, &e) == LLMQ_OK);
    const char *names[] = {"blk.0.attn_q.weight", "blk.7.attn_v.weight", "blk.15.ffn_down.weight",
                           "blk.29.ffn_gate.weight"};
    const uint32_t types[] = {LQ_TYPE_I4_G64A, LQ_TYPE_Q4_1, LQ_TYPE_Q5_1, LQ_TYPE_I3_G64A, LQ_TYPE_I2_G64A};
    enum { NT = sizeof names / sizeof names[0], NTY = sizeof types / sizeof types[0] };
    double lp_h[NTY] = {0}, lp_r[NTY] = {0}, l2_h[NTY] = {0}, l2_r[NTY] = {0};
    int64_t total = 0;
    for (int i = 0; g && i < NT; i++) {
        const lq_gguf_tensor *t = lq_gguf_find_tensor(g, names[i]);
        CHECK_MSG(t && t->type == LQ_TYPE_F32, "%s: missing or not F32", names[i]);
        if (!t || t->type != LQ_TYPE_F32) continue;
        const int64_t cols = t->ne[0], rows = t->ne[1], n = rows * cols;
        const float *w = (const float *)t->data;
        float *back = malloc((size_t)n * sizeof *back);
        uint8_t *q = malloc((size_t)n * 4);
        total += n;
        for (int k = 0; k < NTY && back && q; k++) {
            const size_t rb = lq_row_size(types[k], cols);
            double lp, l2;
            CHECK_EQ_INT(lq_hqq_quantize(w, rows, cols, types[k], NULL, q, 0, &e), LLMQ_OK);
            for (int64_t r = 0; r < rows; r++) lq_type_get(types[k])->to_float(q + r * rb, back + r * cols, cols);
            errors(w, back, n, 0.7, &lp, &l2);
            lp_h[k] += lp;
            l2_h[k] += l2;
            CHECK_EQ_INT(lq_rtn_quantize(w, rows, cols, types[k], q, 0, &e), LLMQ_OK);
            for (int64_t r = 0; r < rows; r++) lq_type_get(types[k])->to_float(q + r * rb, back + r * cols, cols);
            errors(w, back, n, 0.7, &lp, &l2);
            lp_r[k] += lp;
            l2_r[k] += l2;
        }
        free(back);
        free(q);
    }
    printf("SmolLM2-135M, %lld weights of %d tensors:\n", (long long)total, NT);
    for (int k = 0; k < NTY && total > 0; k++) {
        /* models/SmolLM2-135M-Instruct-F32.gguf holds the dequantized Q4_1
         * model: its weights lie on Q4_1's min/max grid, so rtn to Q4_1 is
         * exact there and HQQ (which keeps the better of the two) ties */
        if (lp_r[k] == 0.0) {
            CHECK_MSG(lp_h[k] == 0.0, "%s: rtn exact, hqq not", lq_type_name(types[k]));
            printf("  %-9s rtn reproduces these weights exactly (they are dequantized Q4_1); hqq ties\n",
                   lq_type_name(types[k]));
        } else {
            printf("  %-9s mean|e|^0.7 hqq %.6g rtn %.6g (ratio %.4f)   L2 ratio hqq/rtn %.4f\n",
                   lq_type_name(types[k]), lp_h[k] / total, lp_r[k] / total, lp_h[k] / lp_r[k],
                   sqrt(l2_h[k] / l2_r[k]));
            CHECK_MSG(lp_h[k] < lp_r[k], "%s: hqq lp not below rtn", lq_type_name(types[k]));
            CHECK_MSG(l2_h[k] < l2_r[k], "%s: hqq L2 not below rtn", lq_type_name(types[k]));
        }
    }
    lq_gguf_free(g);
    lq_map_close(&m);
}

int main(void)
{
    test_refusals();
    test_synthetic();
    test_smollm2();
    TEST_END();
}
