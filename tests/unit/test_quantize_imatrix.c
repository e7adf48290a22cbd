/* Importance-weighted quantizers (quant/quantize_imatrix.h):
 * (1) GGML types: byte-identical to llama.cpp's ggml_quantize_chunk with an
 *     imatrix on fixture rows (scripts/gen_quant_fixtures_imatrix.py);
 * (2) without an imatrix every type gives the reference quantizer's bytes;
 * (3) llmq formats: on rows with a skewed imatrix the weighted error
 *     sum imp * (x - deq)^2 is never above the round-to-nearest one, and
 *     lower in total. */
#include "quant/quantize.h"
#include "quant/quantize_imatrix.h"
#include "quant/types.h"
#include "quant/types_llmq.h"
#include "test.h"

#include <stdint.h>

#define ROW_N 512
#define N_ROWS 8
#define MAX_ROW_BYTES (ROW_N / 32 * 34 + 8)

typedef struct {
    const char *file;
    uint32_t type;
} ggml_case;

static const ggml_case GGML_CASES[] = {
    {"q4_0", LQ_TYPE_Q4_0}, {"q4_1", LQ_TYPE_Q4_1}, {"q5_0", LQ_TYPE_Q5_0}, {"q5_1", LQ_TYPE_Q5_1},
    {"q8_0", LQ_TYPE_Q8_0}, {"q2_k", LQ_TYPE_Q2_K}, {"q3_k", LQ_TYPE_Q3_K}, {"q4_k", LQ_TYPE_Q4_K},
    {"q5_k", LQ_TYPE_Q5_K}, {"q6_k", LQ_TYPE_Q6_K}, {"iq4_nl", LQ_TYPE_IQ4_NL},
};
#define N_GGML (sizeof GGML_CASES / sizeof GGML_CASES[0])

static float g_rows[N_ROWS * ROW_N], g_imatrix[ROW_N];

static bool load_inputs(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fixtures/quant_imatrix/input.f32", LLMQ_SOURCE_DIR);
    size_t n = test_read_all(path, g_rows, sizeof g_rows);
    snprintf(path, sizeof path, "%s/tests/fixtures/quant_imatrix/imatrix.f32", LLMQ_SOURCE_DIR);
    size_t m = test_read_all(path, g_imatrix, sizeof g_imatrix);
    CHECK_MSG(n == sizeof g_rows && m == sizeof g_imatrix, "fixture inputs: %zu, %zu bytes", n, m);
    return n == sizeof g_rows && m == sizeof g_imatrix;
}

/* (1) every fixture row, row by row and all rows in one call */
static void test_ggml_bytes(void)
{
    static uint8_t want[N_ROWS * MAX_ROW_BYTES], got[N_ROWS * MAX_ROW_BYTES];
    for (size_t c = 0; c < N_GGML; c++) {
        const size_t row_bytes = lq_row_size(GGML_CASES[c].type, ROW_N);
        const size_t type_size = lq_type_get(GGML_CASES[c].type)->type_size;
        CHECK(lq_imatrix_supported(GGML_CASES[c].type));
        char path[512];
        snprintf(path, sizeof path, "%s/tests/fixtures/quant_imatrix/%s.blocks", LLMQ_SOURCE_DIR, GGML_CASES[c].file);
        const size_t n = test_read_all(path, want, sizeof want);
        CHECK_MSG(n == row_bytes * N_ROWS, "%s: fixture size %zu", GGML_CASES[c].file, n);
        if (n != row_bytes * N_ROWS) continue;
        int rows_ok = 0;
        for (int r = 0; r < N_ROWS; r++) {
            memset(got, 0xA5, row_bytes); /* every byte must be written */
            lq_quantize_rows_imatrix(GGML_CASES[c].type, g_rows + r * ROW_N, got, 1, ROW_N, g_imatrix);
            const long d = test_first_diff(got, want + r * row_bytes, row_bytes);
            CHECK_MSG(d < 0, "%s row %d: first differing byte %ld (block %ld, offset %ld)", GGML_CASES[c].file, r, d,
                      d / (long)type_size, d % (long)type_size);
            rows_ok += d < 0;
        }
        memset(got, 0x5A, row_bytes * N_ROWS);
        lq_quantize_rows_imatrix(GGML_CASES[c].type, g_rows, got, N_ROWS, ROW_N, g_imatrix);
        CHECK_MSG(test_first_diff(got, want, row_bytes * N_ROWS) < 0, "%s: all rows in one call", GGML_CASES[c].file);
        printf("%s: %d/%d rows byte-identical with an imatrix\n", GGML_CASES[c].file, rows_ok, N_ROWS);
    }
}

/* the llmq types with a weighted search */
static int llmq_types(uint32_t *out)
{
    int n = 0;
    out[n++] = LQ_TYPE_I8_CH;
    for (uint32_t t = LQ_TYPE_I2_G32S; t <= LQ_TYPE_I8_G128A; t++) out[n++] = t;
    out[n++] = LQ_TYPE_NF4;
    return n;
}

static void ref_row(uint32_t type, const float *x, void *y, int64_t n)
{
    if (type == LQ_TYPE_IQ4_NL) lq_quant_iq4_nl(x, y, n);
    else lq_type_get(type)->from_float_ref(x, y, n);
}

/* (2) imatrix NULL: the reference bytes, for every supported type */
static void test_null_is_reference(void)
{
    static uint8_t want[MAX_ROW_BYTES * 2], got[MAX_ROW_BYTES * 2];
    uint32_t types[64];
    int nt = llmq_types(types);
    for (size_t c = 0; c < N_GGML; c++) types[nt++] = GGML_CASES[c].type;
    for (int t = 0; t < nt; t++) {
        const size_t row_bytes = lq_row_size(types[t], ROW_N);
        CHECK(lq_imatrix_supported(types[t]));
        int same = 0;
        for (int r = 0; r < N_ROWS; r++) {
            memset(want, 0, sizeof want);
            memset(got, 0xA5, sizeof got);
            ref_row(types[t], g_rows + r * ROW_N, want, ROW_N);
            lq_quantize_rows_imatrix(types[t], g_rows + r * ROW_N, got, 1, ROW_N, NULL);
            same += test_first_diff(got, want, row_bytes) < 0;
        }
        CHECK_MSG(same == N_ROWS, "%s: %d/%d rows equal to the reference without imatrix", lq_type_name(types[t]),
                  same, N_ROWS);
    }
    CHECK(!lq_imatrix_supported(LQ_TYPE_F16));
    CHECK(!lq_imatrix_supported(LQ_TYPE_IQ2_XXS));
}

static double weighted_err(uint32_t type, const float *x, const void *q, const float *imp, int64_t n)
{
    static float back[ROW_N];
    lq_type_get(type)->to_float(q, back, n);
    double e = 0;
    for (int64_t i = 0; i < n; i++) e += (double)imp[i] * ((double)x[i] - back[i]) * ((double)x[i] - back[i]);
    return e;
}

/* (3) per row: weighted error with the imatrix <= without; in total lower */
static void test_llmq_weighted_error(void)
{
    static uint8_t plain[MAX_ROW_BYTES * 2], weighted[MAX_ROW_BYTES * 2];
    uint32_t types[64];
    const int nt = llmq_types(types);
    for (int t = 0; t < nt; t++) {
        double tot_plain = 0, tot_weighted = 0;
        int rows_ok = 0;
        for (int r = 0; r < N_ROWS; r++) {
            const float *x = g_rows + r * ROW_N;
            lq_quantize_rows_imatrix(types[t], x, plain, 1, ROW_N, NULL);
            lq_quantize_rows_imatrix(types[t], x, weighted, 1, ROW_N, g_imatrix);
            const double ep = weighted_err(types[t], x, plain, g_imatrix, ROW_N);
            const double ew = weighted_err(types[t], x, weighted, g_imatrix, ROW_N);
            rows_ok += ew <= ep;
            CHECK_MSG(ew <= ep, "%s row %d: weighted error %.6g with imatrix > %.6g without", lq_type_name(types[t]), r,
                      ew, ep);
            tot_plain += ep;
            tot_weighted += ew;
        }
        CHECK_MSG(tot_weighted < tot_plain, "%s: total %.6g not below %.6g", lq_type_name(types[t]), tot_weighted,
                  tot_plain);
        printf("%-10s weighted error with/without imatrix: %.4f (%d/%d rows <=)\n", lq_type_name(types[t]),
               tot_weighted / tot_plain, rows_ok, N_ROWS);
    }
}

int main(void)
{
    if (load_inputs()) {
        test_ggml_bytes();
        test_null_is_reference();
        test_llmq_weighted_error();
    }
    TEST_END();
}
