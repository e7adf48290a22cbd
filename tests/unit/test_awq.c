/* AWQ on real SmolLM2 weights (blk.3 ffn_gate + ffn_up, 576 columns) with
 * fixed-seed inputs whose channels differ in scale by orders of magnitude, as
 * LLM activations do: the searched scales and the clipping each lower the
 * layer-output error below plain rounding; the result does not depend on the
 * thread count. */
#include "algo/awq.h"
#include "io/gguf.h"
#include "io/mapfile.h"
#include "quant/types.h"
#include "quant/types_llmq.h"
#include "test.h"

#include <cblas.h>

#define N 256

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double urand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return ((rng >> 11) + 0.5) / 9007199254740992.0;
}
static double nrand(void) { return sqrt(-2 * log(urand())) * cos(6.283185307179586 * urand()); }

// W (rows, cols) of a tensor, dequantized; NULL if absent
static float *load(const lq_gguf *g, const char *name, int64_t *rows, int64_t *cols) {
    const lq_gguf_tensor *t = lq_gguf_find_tensor(g, name);
    const lq_type_traits *tr = t ? lq_type_get(t->type) : NULL;
    if (!tr || !tr->to_float) return NULL;
    *cols = t->ne[0], *rows = t->ne[1];
    float *w = malloc((size_t)(*rows * *cols) * sizeof(float));
    size_t rb = lq_row_size(t->type, *cols);
    for (int64_t r = 0; r < *rows; r++) tr->to_float(t->data + r * rb, w + r * *cols, *cols);
    return w;
}

// sum ||X (Q(W) - W)^T||^2 / values, with W optionally pre-clipped (Wc) before rounding
static double out_err(const float *X, const float *W, const float *Wc, int64_t rows, int64_t cols, uint32_t type) {
    float *q = malloc((size_t)(rows * cols) * sizeof(float)), *y = malloc((size_t)(rows * N) * sizeof(float));
    CHECK(lq_fakequant(NULL, Wc, rows, cols, type, q, 2, NULL) == LLMQ_OK);
    for (int64_t k = 0; k < rows * cols; k++) q[k] -= W[k];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, (int)rows, (int)cols, 1, X, (int)cols, q, (int)cols, 0, y,
                (int)rows);
    double s = 0;
    for (int64_t k = 0; k < rows * N; k++) s += (double)y[k] * y[k];
    free(q), free(y);
    return s / (double)(rows * N);
}

static void search(const float *X, const float *gate, const float *up, int64_t F, int64_t C, uint32_t type) {
    lq_awq_linear lin[2] = {{gate, F, type}, {up, F, type}};
    float *s1 = malloc((size_t)C * sizeof(float)), *s2 = malloc((size_t)C * sizeof(float));
    double loss[2], loss2[2];
    lq_err e = {0};
    CHECK(lq_awq_search(lin, 2, C, X, N, NULL, NULL, s1, loss, 1, &e) == LLMQ_OK);
    CHECK(lq_awq_search(lin, 2, C, X, N, NULL, NULL, s2, loss2, 2, &e) == LLMQ_OK);
    printf("AWQ %s: output error rtn %.4g, awq %.4g (ratio %.3f)\n", lq_type_name(type), loss[0], loss[1],
           loss[1] / loss[0]);
    CHECK_MSG(loss[1] < 0.9 * loss[0], "%s: AWQ %.4g vs rtn %.4g", lq_type_name(type), loss[1], loss[0]);
    CHECK(memcmp(s1, s2, (size_t)C * sizeof(float)) == 0 && loss[1] == loss2[1]);
    free(s1), free(s2);
}

static void clip(const float *X, const float *W, int64_t rows, int64_t cols, uint32_t type) {
    // H (cols, cols) = X^T X
    float *H = calloc((size_t)(cols * cols), sizeof(float)), *W1 = malloc((size_t)(rows * cols) * sizeof(float));
    float *W2 = malloc((size_t)(rows * cols) * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cols, (int)cols, N, 1, X, (int)cols, X, (int)cols, 0, H,
                (int)cols);
    memcpy(W1, W, (size_t)(rows * cols) * sizeof(float));
    memcpy(W2, W, (size_t)(rows * cols) * sizeof(float));
    lq_err e = {0};
    CHECK(lq_awq_clip(W1, rows, cols, type, H, NULL, 1, &e) == LLMQ_OK);
    CHECK(lq_awq_clip(W2, rows, cols, type, H, NULL, 2, &e) == LLMQ_OK);
    CHECK(memcmp(W1, W2, (size_t)(rows * cols) * sizeof(float)) == 0);
    double plain = out_err(X, W, W, rows, cols, type), clipped = out_err(X, W, W1, rows, cols, type);
    printf("AWQ clip %s: output error %.4g -> %.4g (ratio %.3f)\n", lq_type_name(type), plain, clipped,
           clipped / plain);
    CHECK_MSG(clipped < plain, "%s: clipped %.4g vs %.4g", lq_type_name(type), clipped, plain);
    free(H), free(W1), free(W2);
}

int main(void) {
    lq_mapfile m;
    lq_err e = {0};
    if (lq_map_open(TEST_PATH("models/SmolLM2-135M-Instruct-Q4_1.gguf"), &m, &e) != LLMQ_OK) {
        CHECK_MSG(0, "SmolLM2 missing (run scripts/setup.sh): %s", e.msg);
        TEST_END();
    }
    lq_gguf *g = NULL;
    CHECK(lq_gguf_parse(m.data, m.len, &g, &e) == LLMQ_OK);
    int64_t F = 0, C = 0, F2, C2;
    float *gate = g ? load(g, "blk.3.ffn_gate.weight", &F, &C) : NULL;
    float *up = g ? load(g, "blk.3.ffn_up.weight", &F2, &C2) : NULL;
    CHECK(gate && up && F == F2 && C == C2 && C == 576);
    if (gate && up) {
        float *X = malloc((size_t)(N * C) * sizeof(float)), *chs = malloc((size_t)C * sizeof(float));
        for (int64_t c = 0; c < C; c++) chs[c] = (float)exp(nrand()) * (c % 97 == 5 ? 30.0f : 1.0f);
        for (int64_t k = 0; k < N * C; k++) X[k] = (float)nrand() * chs[k % C];
        search(X, gate, up, F, C, LQ_TYPE_Q4_0);
        search(X, gate, up, F, C, LQ_TYPE_I3_G64S);
        clip(X, gate, F, C, LQ_TYPE_Q4_0);
        clip(X, gate, F, C, LQ_TYPE_I3_G64A);
        CHECK(lq_awq_clip_group(LQ_TYPE_Q4_K, 1536) == 0 && lq_awq_clip_group(LQ_TYPE_I8_CH, 576) == 0);
        CHECK(lq_awq_clip(gate, F, C, LQ_TYPE_I8_CH, X, NULL, 1, &e) == LLMQ_ERR_UNSUPPORTED);
        free(X), free(chs);
    }
    free(gate), free(up);
    lq_gguf_free(g);
    lq_map_close(&m);
    TEST_END();
}
