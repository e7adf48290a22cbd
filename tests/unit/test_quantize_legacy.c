/* Legacy-block reference quantizers (Q4_0 .. Q8_1, IQ4_NL): byte-identical
 * to llama.cpp's quantize_row_*_ref on fixture rows, round-trip error within
 * llama.cpp's test-quantize-fns limits, NaN-free, zeros stay zeros. */
#include "quant/quantize.h"
#include "quant/types.h"
#include "test.h"

#include <stdint.h>

#define ROW_N 2048 /* values per fixture row */
#define MAX_ROWS 16

typedef struct {
    const char *file;
    uint32_t type;
    lq_from_float_fn quant;
} quant_case;

static const quant_case CASES[] = {
    {"q4_0", LQ_TYPE_Q4_0, lq_quant_q4_0_ref},   {"q4_1", LQ_TYPE_Q4_1, lq_quant_q4_1_ref},
    {"q5_0", LQ_TYPE_Q5_0, lq_quant_q5_0_ref},   {"q5_1", LQ_TYPE_Q5_1, lq_quant_q5_1_ref},
    {"q8_0", LQ_TYPE_Q8_0, lq_quant_q8_0_ref},   {"q8_1", LQ_TYPE_Q8_1, lq_quant_q8_1_ref},
    {"iq4_nl", LQ_TYPE_IQ4_NL, lq_quant_iq4_nl_ref},
    {"iq4_nl_search", LQ_TYPE_IQ4_NL, lq_quant_iq4_nl}, /* llama-quantize's quantize_iq4_nl */
};
#define N_CASES (sizeof(CASES) / sizeof(CASES[0]))

/* (1) every fixture row quantizes to exactly ggml's bytes */
static void test_bytes(const float *rows, int n_rows)
{
    static uint8_t want[MAX_ROWS * ROW_N * 2]; /* [n_rows][row bytes] */
    static uint8_t got[ROW_N * 2];
    for (size_t c = 0; c < N_CASES; c++) {
        const lq_type_traits *tt = lq_type_get(CASES[c].type);
        const size_t row_bytes = (size_t)ROW_N / (size_t)tt->blck_size * tt->type_size;
        char path[512];
        snprintf(path, sizeof path, "%s/tests/fixtures/quant_legacy/%s.blocks", LLMQ_SOURCE_DIR,
                 CASES[c].file);
        size_t n = test_read_all(path, want, sizeof want);
        CHECK_MSG(n == row_bytes * (size_t)n_rows, "%s: fixture size %zu", CASES[c].file, n);
        if (n != row_bytes * (size_t)n_rows) continue;
        for (int r = 0; r < n_rows; r++) {
            CASES[c].quant(rows + (size_t)r * ROW_N, got, ROW_N);
            int d = (int)test_first_diff(got, want + (size_t)r * row_bytes, row_bytes);
            CHECK_MSG(d < 0, "%s row %d: first differing byte %d (block %d)", CASES[c].file, r, d,
                      d / (int)tt->type_size);
        }
    }
}

/* (2) llama.cpp test-quantize-fns: 4096 values 0.1 + 2cos(i), total error
 * sqrt(sum (x - x')^2) / n below 0.002 for the 4..8-bit types */
static void test_round_trip(void)
{
    enum { N = 4096 };
    static float x[N], back[N];
    static uint8_t q[N * 2];
    for (int i = 0; i < N; i++) x[i] = (float)(0.1 + 2 * cosf((float)i));
    for (size_t c = 0; c < N_CASES; c++) {
        const lq_type_traits *tt = lq_type_get(CASES[c].type);
        CASES[c].quant(x, q, N);
        tt->to_float(q, back, N);
        double sum = 0;
        int nan = 0;
        for (int i = 0; i < N; i++) {
            double diff = (double)x[i] - back[i];
            sum += diff * diff;
            nan += isnan(back[i]) != 0;
        }
        const double err = sqrt(sum) / N;
        CHECK_MSG(err < 0.002, "%s: total error %g", CASES[c].file, err);
        CHECK_EQ_INT(nan, 0);
    }
}

/* (3) every fixture row dequantizes NaN-free; the all-zero block is zeros */
static void test_nan_free_and_zero(const float *rows, int n_rows)
{
    static uint8_t q[ROW_N * 2];
    static float back[ROW_N];
    for (size_t c = 0; c < N_CASES; c++) {
        const lq_type_traits *tt = lq_type_get(CASES[c].type);
        int nan = 0;
        for (int r = 0; r < n_rows; r++) {
            CASES[c].quant(rows + (size_t)r * ROW_N, q, ROW_N);
            tt->to_float(q, back, ROW_N);
            for (int i = 0; i < ROW_N; i++) nan += !isfinite(back[i]);
        }
        CHECK_MSG(nan == 0, "%s: %d non-finite values", CASES[c].file, nan);
        static const float zero[32] = {0};
        float out[32];
        CASES[c].quant(zero, q, 32);
        tt->to_float(q, out, 32);
        int nonzero = 0;
        for (int i = 0; i < 32; i++) nonzero += out[i] != 0.0f;
        CHECK_MSG(nonzero == 0, "%s: zero block -> %d non-zero values", CASES[c].file, nonzero);
    }
}

int main(void)
{
    static float rows[MAX_ROWS * ROW_N]; /* [n_rows][2048] */
    size_t n = test_read_all(TEST_PATH("tests/fixtures/quant_legacy/input.f32"), rows, sizeof rows);
    const int n_rows = (int)(n / (ROW_N * sizeof(float)));
    CHECK(n > 0 && n % (ROW_N * sizeof(float)) == 0);
    CHECK(n_rows >= 7);
    for (size_t c = 0; c < N_CASES; c++) {
        const lq_type_traits *tt = lq_type_get(CASES[c].type);
        CHECK(tt != NULL && tt->to_float != NULL && tt->blck_size == 32);
    }
    test_bytes(rows, n_rows);
    test_round_trip();
    test_nan_free_and_zero(rows, n_rows);
    TEST_END();
}
