/* Element grids: for rows quantized by each type's reference quantizer,
 * every element's decoded value lies on its grid, and writing any code k
 * decodes to exactly lq_grid_value(k) while every other element keeps its
 * value. */
#include "quant/grid.h"
#include "quant/quantize.h"
#include "quant/types.h"
#include "quant/types_llmq.h"
#include "test.h"

#include <stdint.h>

static uint32_t rng_state = 12345u;

static float frand(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / 8388608.0f - 1.0f;
}

static bool same_bits(float x, float y) { return memcmp(&x, &y, 4) == 0; }

/* a row with an offset, a few outliers and an all-zero stretch */
static void fill_row(float *x, int64_t n) {
    const float shift = 0.3f * frand();
    for (int64_t i = 0; i < n; i++) x[i] = frand() + shift;
    for (int i = 0; i < 4; i++) x[(int64_t)((frand() + 1.0f) * 0.5f * (float)n) % n] *= 6.0f;
    for (int64_t i = 32; i < 64 && i < n; i++) x[i] = 0.0f;
}

/* every element's value is a grid value, and the nearest code decodes to it */
static int check_on_grid(uint32_t t, const uint8_t *row, const float *deq, int64_t n) {
    int bad = 0;
    for (int64_t j = 0; j < n; j++) {
        lq_grid g;
        if (!lq_grid_elem(t, row, j, &g)) return 1;
        bool found = false; /* some code gives these bits (-0 and +0 differ) */
        for (int k = g.kmin; k <= g.kmax && !found; k++) found = same_bits(lq_grid_value(&g, k), deq[j]);
        if (!found || lq_grid_value(&g, lq_grid_nearest(&g, deq[j])) != deq[j]) {
            if (bad++ < 3) fprintf(stderr, "%s elem %lld: %g not on grid\n", lq_type_name(t), (long long)j, deq[j]);
        }
    }
    return bad;
}

/* set(k) then dequantize: element j is a*k+b, the others unchanged */
static int check_set(uint32_t t, const uint8_t *row, const float *deq, int64_t n, size_t rb, int64_t step) {
    const lq_type_traits *tr = lq_type_get(t);
    uint8_t *w = malloc(rb);
    float *got = malloc((size_t)n * sizeof(float));
    int bad = 0;
    for (int64_t j = 0; j < n; j += step) {
        lq_grid g;
        lq_grid_elem(t, row, j, &g);
        for (int k = g.kmin; k <= g.kmax; k++) {
            memcpy(w, row, rb);
            lq_grid_set(t, w, j, k);
            tr->to_float(w, got, n);
            bool ok = same_bits(got[j], lq_grid_value(&g, k));
            for (int64_t i = 0; i < n && ok; i++) ok = i == j || same_bits(got[i], deq[i]);
            if (!ok && bad++ < 3)
                fprintf(stderr, "%s elem %lld code %d: %g vs %g\n", lq_type_name(t), (long long)j, k, got[j],
                        lq_grid_value(&g, k));
        }
    }
    free(w);
    free(got);
    return bad;
}

static void check_type(uint32_t t) {
    const lq_type_traits *tr = lq_type_get(t);
    const int64_t n = tr->blck_size == 256 ? 512 : 256;
    const size_t rb = lq_row_size(t, n);
    float *x = malloc((size_t)n * sizeof(float)), *deq = malloc((size_t)n * sizeof(float));
    uint8_t *row = malloc(rb);
    CHECK(lq_grid_supported(t));
    for (int rep = 0; rep < 3; rep++) {
        fill_row(x, n);
        if (t == LQ_TYPE_IQ4_NL) lq_quant_iq4_nl(x, row, n); /* what rtn writes */
        else tr->from_float_ref(x, row, n);
        tr->to_float(row, deq, n);
        CHECK_MSG(check_on_grid(t, row, deq, n) == 0, "%s: values off the grid", tr->name);
        /* FP8's 254 codes: every 5th element is plenty */
        CHECK_MSG(check_set(t, row, deq, n, rb, rep == 0 && n <= 256 && t < LQ_TYPE_F8_E4M3_CH ? 1 : 5) == 0,
                  "%s: set/dequant mismatch", tr->name);
    }
    free(x);
    free(deq);
    free(row);
}

static void nearest_cases(void) {
    lq_grid g = {.kind = LQ_GRID_AFFINE, .a = 0.5f, .b = -0.0f, .kmin = -8, .kmax = 7};
    CHECK_EQ_INT(lq_grid_nearest(&g, 100.0f), 7);
    CHECK_EQ_INT(lq_grid_nearest(&g, -100.0f), -8);
    CHECK_EQ_INT(lq_grid_nearest(&g, 1.1f), 2);
    CHECK_EQ_INT(lq_grid_nearest(&g, NAN), 0);
    g.a = -0.5f; /* Q4_0 scales are negative when the largest value is positive */
    CHECK_EQ_INT(lq_grid_nearest(&g, 1.1f), -2);
    g.a = 0.0f; /* all-zero block: any code decodes to b */
    CHECK(lq_grid_value(&g, lq_grid_nearest(&g, 3.0f)) == 0.0f);
    CHECK(!lq_grid_supported(LQ_TYPE_F16) && !lq_grid_supported(LQ_TYPE_Q8_K));
}

int main(void) {
    const uint32_t types[] = {LQ_TYPE_Q4_0, LQ_TYPE_Q4_1, LQ_TYPE_Q5_0, LQ_TYPE_Q5_1, LQ_TYPE_Q8_0, LQ_TYPE_IQ4_NL,
                              LQ_TYPE_Q2_K, LQ_TYPE_Q3_K, LQ_TYPE_Q4_K, LQ_TYPE_Q5_K, LQ_TYPE_Q6_K, LQ_TYPE_I8_CH,
                              LQ_TYPE_NF4, LQ_TYPE_F8_E4M3_CH, LQ_TYPE_F8_E4M3_G32, LQ_TYPE_F8_E4M3_G128};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) check_type(types[i]);
    for (uint32_t t = LQ_TYPE_I2_G32S; t <= LQ_TYPE_I8_G128A; t++) check_type(t);
    nearest_cases();
    TEST_END();
}
