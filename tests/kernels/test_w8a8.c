/* W8A8 linear layers: dynamic and static activation scales against a float
 * product of the same INT8 weights, and LLM.int8's outlier columns, which
 * must bring the error of an input with one huge channel back down. */
#include "algo/rtn.h"
#include "kernels/w8a8.h"
#include "quant/types.h"
#include "quant/types_llmq.h"
#include "test.h"

#define N 96
#define K 256
#define T 5

static uint64_t rng = 12345;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) / 16777216.0) * 2 - 1;
}

// relative error of Y against X Wd^T (Wd the dequantized weights)
static double rel_err(const float *Y, const float *X, const float *Wd) {
    double num = 0, den = 0;
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++) {
            double ref = 0;
            for (int k = 0; k < K; k++) ref += (double)X[t * K + k] * Wd[n * K + k];
            num += (Y[t * N + n] - ref) * (Y[t * N + n] - ref);
            den += ref * ref;
        }
    return sqrt(num / den);
}

int main(void) {
    static float W[N * K], Wd[N * K], X[T * K], Y[T * N];
    for (int i = 0; i < N * K; i++) W[i] = frand();
    for (int i = 0; i < T * K; i++) X[i] = frand();
    size_t rb = lq_row_size(LQ_TYPE_I8_CH, K);
    uint8_t *q = malloc(rb * N);
    CHECK(lq_rtn_quantize(W, N, K, LQ_TYPE_I8_CH, q, 1, NULL) == LLMQ_OK);
    for (int n = 0; n < N; n++) lq_type_get(LQ_TYPE_I8_CH)->to_float(q + n * rb, Wd + n * K, K);
    lq_w8a8 l;
    CHECK(lq_w8a8_init(&l, q, N, K));
    for (int i = 0; i < T * N; i++) Y[i] = NAN;
    CHECK(lq_w8a8_forward(&l, Y, X, T, NULL, 2));
    double e_dyn = rel_err(Y, X, Wd);
    printf("dynamic: relative error %.5f\n", e_dyn);
    CHECK(e_dyn < 0.01);
    l.act_scale = 1.0f / 127; /* |x| <= 1 */
    CHECK(lq_w8a8_forward(&l, Y, X, T, NULL, 1));
    double e_st = rel_err(Y, X, Wd);
    printf("static:  relative error %.5f\n", e_st);
    CHECK(e_st < 0.01);
    // one channel 200x larger: dynamic INT8 loses the rest, LLM.int8 keeps it in float
    for (int t = 0; t < T; t++) X[t * K + 7] = 200.0f * (t + 1);
    l.act_scale = 0;
    CHECK(lq_w8a8_forward(&l, Y, X, T, NULL, 2));
    double e_plain = rel_err(Y, X, Wd);
    l.outlier_threshold = 6.0f;
    CHECK(lq_w8a8_forward(&l, Y, X, T, NULL, 2));
    double e_out = rel_err(Y, X, Wd);
    printf("outlier channel: dynamic %.5f, with LLM.int8 decomposition %.5f\n", e_plain, e_out);
    CHECK(e_out < e_plain / 10 && e_out < 0.01);
    CHECK(l.outlier_cols == 1 && l.seen_cols == K);
    lq_w8a8_free(&l);
    free(q);
    TEST_END();
}
