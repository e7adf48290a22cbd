/* K-quant reference quantizers (Q2_K .. Q8_K): byte-identical to llama.cpp's
 * quantize_row_*_K_ref on fixture rows (scripts/gen_quant_fixtures_kquants.py),
 * round-trip error within llama.cpp's test-quantize-fns limits, NaN-free,
 * zero super-blocks stay zeros. */
#include "quant/blocks.h"
#include "quant/quantize.h"
#include "quant/types.h"
#include "test.h"

#include <stdint.h>

#define ROW_N 2048 /* values per fixture row */
#define MAX_ROWS 16
#define MAX_ROW_BYTES (ROW_N / QK_K * 292) /* Q8_K is the widest */

typedef struct {
    const char *file;
    uint32_t type;
    lq_from_float_fn quant;
    double max_err; /* test-quantize-fns limit */
} quant_case;

static const quant_case CASES[] = {
    {"q8_k", LQ_TYPE_Q8_K, lq_quant_q8_k_ref, 0.002},
    {"q6_k", LQ_TYPE_Q6_K, lq_quant_q6_k_ref, 0.002},
    {"q5_k", LQ_TYPE_Q5_K, lq_quant_q5_k_ref, 0.002},
    {"q4_k", LQ_TYPE_Q4_K, lq_quant_q4_k_ref, 0.002},
    {"q3_k", LQ_TYPE_Q3_K, lq_quant_q3_k_ref, 0.004},
    {"q2_k", LQ_TYPE_Q2_K, lq_quant_q2_k_ref, 0.0075},
};
#define N_CASES (sizeof(CASES) / sizeof(CASES[0]))

static size_t row_bytes_of(uint32_t type)
{
    const lq_type_traits *tt = lq_type_get(type);
    return (size_t)ROW_N / (size_t)tt->blck_size * tt->type_size;
}

/* (1) every fixture row quantizes to exactly ggml's bytes */
static void test_bytes(const float *rows, int n_rows)
{
    static uint8_t want[MAX_ROWS * MAX_ROW_BYTES]; /* [n_rows][row bytes] */
    static uint8_t got[MAX_ROW_BYTES];
    for (size_t c = 0; c < N_CASES; c++) {
        const size_t row_bytes = row_bytes_of(CASES[c].type);
        const size_t type_size = lq_type_get(CASES[c].type)->type_size;
        char path[512];
        snprintf(path, sizeof path, "%s/tests/fixtures/quant_kquants/%s.blocks", LLMQ_SOURCE_DIR,
                 CASES[c].file);
        size_t n = test_read_all(path, want, sizeof want);
        CHECK_MSG(n == row_bytes * (size_t)n_rows, "%s: fixture size %zu", CASES[c].file, n);
        if (n != row_bytes * (size_t)n_rows) continue;
        int rows_ok = 0;
        for (int r = 0; r < n_rows; r++) {
            memset(got, 0xA5, sizeof got); /* every byte must be written */
            CASES[c].quant(rows + (size_t)r * ROW_N, got, ROW_N);
            int d = (int)test_first_diff(got, want + (size_t)r * row_bytes, row_bytes);
            CHECK_MSG(d < 0, "%s row %d: first differing byte %d (block %d, offset %d)",
                      CASES[c].file, r, d, d / (int)type_size, d % (int)type_size);
            rows_ok += d < 0;
        }
        printf("%s: %d/%d rows byte-identical\n", CASES[c].file, rows_ok, n_rows);
    }
}

/* (2) llama.cpp test-quantize-fns: 4096 values 0.1 + 2cos(i + offset),
 * total error sqrt(sum (x - x')^2) / n below the per-type limit */
static void test_round_trip(void)
{
    enum { N = 4096 };
    static float x[N], back[N];
    static uint8_t q[N / QK_K * 292];
    const float offsets[] = {0.0f, 0.5f, 1.25f};
    for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
        for (int i = 0; i < N; i++) x[i] = 0.1f + 2 * cosf((float)i + offsets[o]);
        for (size_t c = 0; c < N_CASES; c++) {
            CASES[c].quant(x, q, N);
            lq_type_get(CASES[c].type)->to_float(q, back, N);
            double sum = 0;
            for (int i = 0; i < N; i++) {
                double diff = (double)x[i] - (double)back[i];
                sum += diff * diff;
            }
            double err = sqrt(sum) / N;
            CHECK_MSG(err < CASES[c].max_err, "%s offset %g: error %g >= %g", CASES[c].file,
                      (double)offsets[o], err, CASES[c].max_err);
        }
    }
}

/* (3) dequantized fixture rows are finite; the all-zero and negative-zero
 * super-blocks of row 4 (values 256..511, 768..1023) come back as zeros */
static void test_finite_and_zeros(const float *rows, int n_rows)
{
    static uint8_t q[MAX_ROW_BYTES];
    static float back[ROW_N];
    for (size_t c = 0; c < N_CASES; c++) {
        int bad = 0, nonzero = 0;
        for (int r = 0; r < n_rows; r++) {
            CASES[c].quant(rows + (size_t)r * ROW_N, q, ROW_N);
            lq_type_get(CASES[c].type)->to_float(q, back, ROW_N);
            for (int i = 0; i < ROW_N; i++) bad += !isfinite(back[i]);
            if (r != 4) continue;
            for (int i = 256; i < 512; i++) nonzero += back[i] != 0.0f;
            for (int i = 768; i < 1024; i++) nonzero += back[i] != 0.0f;
        }
        CHECK_MSG(bad == 0, "%s: %d non-finite dequantized values", CASES[c].file, bad);
        CHECK_MSG(nonzero == 0, "%s: %d non-zero values in zero blocks", CASES[c].file, nonzero);
    }
}

int main(void)
{
    static float rows[MAX_ROWS * ROW_N]; /* [n_rows][ROW_N] */
    size_t n = test_read_all(TEST_PATH("tests/fixtures/quant_kquants/input.f32"), rows, sizeof rows);
    int n_rows = (int)(n / (ROW_N * sizeof(float)));
    CHECK(n > 0 && n % (ROW_N * sizeof(float)) == 0);
    CHECK(n_rows >= 5);
    if (n_rows >= 5) {
        test_bytes(rows, n_rows);
        test_finite_and_zeros(rows, n_rows);
    }
    test_round_trip();
    TEST_END();
}
