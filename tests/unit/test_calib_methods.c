/* GPTQ and AWQ against round-to-nearest on real SmolLM2 layers with real
 * activations: block 2's inputs gathered by the calibration state over
 * wikitext-2 valid text, the error measured on other tokens of the same text
 * (held out from calibration). Both methods must give a lower layer-output
 * error than rtn at 4 and at 3 bits. */
#include "algo/awq.h"
#include "algo/gptq.h"
#include "algo/rtn.h"
#include "model/llama_calib.h"
#include "model/model_internal.h"
#include "quant/types.h"
#include "quant/types_llmq.h"
#include "test.h"

#include <cblas.h>

#define CTX 256
#define LAYER 2

// Statistics of block LAYER's inputs over n_seq sequences starting at token t0
static lq_calib *gather(lq_llama *L, const int32_t *toks, int n_seq, lq_calib_stats st[LQ_POINT_COUNT]) {
    lq_calib *c = NULL;
    lq_err e = {0};
    if (lq_calib_open(L, toks, n_seq, CTX, 2, &c, &e) != LLMQ_OK) return NULL;
    for (int l = 0; l < LAYER; l++) CHECK(lq_calib_block_advance(c, l, &e) == LLMQ_OK);
    CHECK(lq_calib_block_stats(c, LAYER, LQ_CALIB_HESSIAN | LQ_CALIB_SAMPLE, st, &e) == LLMQ_OK);
    return c;
}

// ||X (Q - W)^T||^2 / ||X W^T||^2 over the rows of X (n, cols)
static double out_err(const float *X, int n, const float *W, const float *Q, int rows, int cols) {
    float *D = malloc((size_t)rows * cols * sizeof(float)), *Y = malloc((size_t)n * rows * sizeof(float));
    float *Y0 = malloc((size_t)n * rows * sizeof(float));
    for (size_t k = 0; k < (size_t)rows * cols; k++) D[k] = Q[k] - W[k];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, rows, cols, 1, X, cols, D, cols, 0, Y, rows);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, rows, cols, 1, X, cols, W, cols, 0, Y0, rows);
    double num = 0, den = 0;
    for (size_t k = 0; k < (size_t)n * rows; k++) num += (double)Y[k] * Y[k], den += (double)Y0[k] * Y0[k];
    free(D), free(Y), free(Y0);
    return num / den;
}

static void dequant(const void *q, uint32_t type, int rows, int cols, float *out) {
    size_t rb = lq_row_size(type, cols);
    for (int r = 0; r < rows; r++) lq_type_get(type)->to_float((const uint8_t *)q + r * rb, out + (size_t)r * cols, cols);
}

static void compare(const lq_qweight *w, const lq_calib_stats *cal, const lq_calib_stats *held, uint32_t type,
                    const char *what) {
    int rows = w->rows, cols = w->cols;
    size_t n = (size_t)rows * cols, rb = lq_row_size(type, cols);
    float *W = malloc(n * sizeof(float)), *Q = malloc(n * sizeof(float)), *Ws = malloc(n * sizeof(float));
    float *s = malloc((size_t)cols * sizeof(float));
    void *q = malloc(rb * rows);
    for (int r = 0; r < rows; r++) lq_qweight_row(w, r, W + (size_t)r * cols);
    lq_err e = {0};
    CHECK(lq_rtn_quantize(W, rows, cols, type, q, 2, &e) == LLMQ_OK);
    dequant(q, type, rows, cols, Q);
    double rtn = out_err(held->sample, held->n_sample, W, Q, rows, cols);
    CHECK(lq_gptq_quantize(W, rows, cols, cal->H, type, NULL, q, 2, &e) == LLMQ_OK);
    dequant(q, type, rows, cols, Q);
    double gptq = out_err(held->sample, held->n_sample, W, Q, rows, cols);
    // AWQ: scales searched on the calibration sample, clipping, rtn, scales undone
    lq_awq_linear lin = {W, rows, type};
    CHECK(lq_awq_search(&lin, 1, cols, cal->sample, cal->n_sample, NULL, NULL, s, NULL, 2, &e) == LLMQ_OK);
    for (size_t k = 0; k < n; k++) Ws[k] = W[k] * s[k % cols];
    if (lq_awq_clip_group(type, cols)) {
        float *H = malloc((size_t)cols * cols * sizeof(float));
        for (int i = 0; i < cols; i++) // H of the scaled inputs x / s
            for (int j = 0; j < cols; j++) H[(size_t)i * cols + j] = cal->H[(size_t)i * cols + j] / (s[i] * s[j]);
        CHECK(lq_awq_clip(Ws, rows, cols, type, H, NULL, 2, &e) == LLMQ_OK);
        free(H);
    }
    CHECK(lq_rtn_quantize(Ws, rows, cols, type, q, 2, &e) == LLMQ_OK);
    dequant(q, type, rows, cols, Q);
    for (size_t k = 0; k < n; k++) Q[k] /= s[k % cols];
    double awq = out_err(held->sample, held->n_sample, W, Q, rows, cols);
    printf("%-8s %-9s rtn %.5f  gptq %.5f (%.2f)  awq %.5f (%.2f)\n", lq_type_name(type), what, rtn, gptq,
           gptq / rtn, awq, awq / rtn);
    CHECK_MSG(gptq < rtn, "%s %s: gptq %.5f >= rtn %.5f", lq_type_name(type), what, gptq, rtn);
    CHECK_MSG(awq < rtn, "%s %s: awq %.5f >= rtn %.5f", lq_type_name(type), what, awq, rtn);
    free(W), free(Q), free(Ws), free(s), free(q);
}

int main(void) {
    llmq_model_params mp = llmq_model_default_params();
    llmq_model *m = NULL;
    llmq_error err = {0};
    if (llmq_model_open(TEST_PATH("models/SmolLM2-135M-Instruct-Q4_1.gguf"), &mp, &m, &err) != LLMQ_OK) {
        CHECK_MSG(0, "SmolLM2 missing (run scripts/setup.sh): %s", err.msg);
        TEST_END();
    }
    char *text = NULL;
    size_t len = 0, n = 0;
    CHECK(llmq_read_file(SHARED_PATH("data/wikitext-2/valid.txt"), &text, &len, &err) == LLMQ_OK);
    len = LQ_MIN(len, (size_t)200000);
    int32_t *toks = malloc((len + 1) * sizeof(int32_t));
    CHECK(llmq_tokenize(m, text, len, 0, toks, len + 1, &n) == LLMQ_OK && n >= 12 * CTX);
    lq_calib_stats cal[LQ_POINT_COUNT] = {0}, held[LQ_POINT_COUNT] = {0};
    lq_calib *c1 = gather(m->llama, toks, 8, cal), *c2 = gather(m->llama, toks + 8 * CTX, 4, held);
    CHECK(c1 && c2);
    if (c1 && c2) {
        lq_llama_layer *ly = &m->llama->layers[LAYER];
        compare(&ly->wq, &cal[LQ_POINT_ATTN_IN], &held[LQ_POINT_ATTN_IN], LQ_TYPE_Q4_0, "attn_q");
        compare(&ly->w_gate, &cal[LQ_POINT_FFN_IN], &held[LQ_POINT_FFN_IN], LQ_TYPE_I4_G64A, "ffn_gate");
        compare(&ly->wv, &cal[LQ_POINT_ATTN_IN], &held[LQ_POINT_ATTN_IN], LQ_TYPE_I3_G64S, "attn_v");
        compare(&ly->w_down, &cal[LQ_POINT_FFN_MID], &held[LQ_POINT_FFN_MID], LQ_TYPE_I4_G32S, "ffn_down");
        compare(&ly->w_down, &cal[LQ_POINT_FFN_MID], &held[LQ_POINT_FFN_MID], LQ_TYPE_Q3_K, "ffn_down");
    }
    for (int p = 0; p < LQ_POINT_COUNT; p++) lq_calib_stats_free(&cal[p]), lq_calib_stats_free(&held[p]);
    lq_calib_free(c1);
    lq_calib_free(c2);
    free(toks);
    free(text);
    llmq_model_free(m);
    TEST_END();
}
