/* Linear layers over quantized weights (kernels/qmatmul.h), for every type
 * with a qdot kernel: one-row GEMV (threaded, and inside a parallel region
 * as generation runs it), few-row and many-row (dequantized tiles + sgemm)
 * products all agree with a double-precision product of the dequantized
 * weights; rows are independent of the thread count, and of running
 * several matrices in one team (lq_qmatmul_multi). */
#include "algo/rtn.h"
#include "kernels/qmatmul.h"
#include "quant/types.h"
#include "test.h"

#include <omp.h>
#include <stdint.h>

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static float frand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) & 0xFFFFFF) / 16777216.0f - 0.5f;
}

enum { ROWS = 77, COLS = 512, N = 9 };

static void check_type(uint32_t t) {
    const lq_type_traits *tr = lq_type_get(t);
    if (!lq_qdot_get(t)) return;
    static float w[ROWS * COLS], wd[ROWS * COLS], x[N * COLS], y[N * ROWS], y1[ROWS], y2[ROWS];
    size_t rb = lq_row_size(t, COLS);
    char *q = malloc(rb * ROWS);
    for (int i = 0; i < ROWS * COLS; i++) w[i] = frand() * (i % 301 == 0 ? 20.0f : 1.0f);
    for (int i = 0; i < N * COLS; i++) x[i] = frand();
    lq_err e;
    CHECK(lq_rtn_quantize(w, ROWS, COLS, t, q, 1, &e) == LLMQ_OK);
    for (int r = 0; r < ROWS; r++) tr->to_float(q + r * rb, wd + r * COLS, COLS);
    lq_qweight W;
    void *mm = malloc(lq_qmatmul_scratch_bytes(COLS, 2));
    CHECK(lq_qweight_init(&W, t, q, ROWS, COLS, true));
    CHECK(W.dot != NULL && lq_qweight_f32(&W) == NULL);
    for (int n = 1; n <= N; n += 3) { /* 1 and 4: GEMV per row; 7: tiles + sgemm */
        for (int i = 0; i < n * ROWS; i++) y[i] = NAN;
        lq_qmatmul(y, x, &W, n, 2, mm);
        double worst = 0;
        for (int s = 0; s < n; s++)
            for (int r = 0; r < ROWS; r++) {
                double d = 0, mag = 0;
                for (int i = 0; i < COLS; i++) {
                    d += (double)wd[r * COLS + i] * x[s * COLS + i];
                    mag += fabs((double)wd[r * COLS + i] * x[s * COLS + i]);
                }
                /* 8-bit activations in the GEMV: about 1% of the magnitude at worst */
                double err = fabs(y[s * ROWS + r] - d) / (mag + 1e-12);
                worst = err > worst || isnan(err) ? (isnan(err) ? INFINITY : err) : worst;
            }
        CHECK_MSG(worst < 0.01, "%s n=%d: relative error %g", tr->name, n, worst);
    }
    /* threads do not change the bits; the team GEMV gives the same as the plain one */
    lq_qmatmul(y1, x, &W, 1, 1, mm);
    lq_qmatmul(y2, x, &W, 1, 2, mm);
    CHECK_MSG(memcmp(y1, y2, sizeof y1) == 0, "%s: 1 and 2 threads differ", tr->name);
    /* the team GEMV over two matrices at once (the same one twice here) */
    lq_qact act = {0};
    for (int i = 0; i < LQ_QACT_SLOTS; i++) act.slot[i] = malloc(lq_qact_slot_bytes(COLS));
    static float y3[ROWS];
    for (int r = 0; r < ROWS; r++) y2[r] = y3[r] = NAN;
    const lq_qweight *ws[2] = {&W, &W};
    #pragma omp parallel num_threads(2)
    {
        #pragma omp single
        lq_qact_prepare(&act, x, ws, 2);
        lq_qgemv_team((float *[]){y2, y3}, ws, 2, &act);
    }
    CHECK_MSG(memcmp(y1, y2, sizeof y1) == 0 && memcmp(y1, y3, sizeof y1) == 0, "%s: team GEMV differs", tr->name);
    for (int i = 0; i < LQ_QACT_SLOTS; i++) free(act.slot[i]);
    /* several matrices in one team of tiles: each as lq_qmatmul gives it, bit
     * for bit (the 16-row second matrix is too small to be cut alone) */
    lq_qweight W2;
    CHECK(lq_qweight_init(&W2, t, q + 3 * rb, 16, COLS, true));
    static float ya[N * ROWS], yb[N * 16], yc[N * ROWS], yd[N * 16];
    lq_qmatmul(ya, x, &W, N, 2, mm);
    lq_qmatmul(yb, x, &W2, N, 2, mm);
    for (int nt = 1; nt <= 2; nt++) {
        for (int i = 0; i < N * ROWS; i++) yc[i] = NAN;
        for (int i = 0; i < N * 16; i++) yd[i] = NAN;
        lq_qmatmul_multi((float *[]){yc, yd}, x, (const lq_qweight *[]){&W, &W2}, 2, N, nt, mm);
        CHECK_MSG(!memcmp(ya, yc, sizeof ya) && !memcmp(yb, yd, sizeof yb), "%s: multi (%d threads) differs",
                  tr->name, nt);
    }
    lq_qweight_free(&W2);
    /* row lookup = the dequantizer */
    float row[COLS];
    lq_qweight_row(&W, 5, row);
    CHECK(memcmp(row, wd + 5 * COLS, sizeof row) == 0);
    lq_qweight_free(&W);
    free(mm);
    free(q);
}

int main(void) {
    int n_types = 0;
    for (uint32_t t = 0; t < 256; t++)
        if (lq_type_get(t) && lq_qdot_get(t)) check_type(t), n_types++;
    printf("%d types with kernels\n", n_types);
    CHECK(n_types >= 2);
    /* F32 rows run in place when kept; otherwise they are copied */
    static float f[4 * 32];
    for (int i = 0; i < 4 * 32; i++) f[i] = (float)i;
    lq_qweight W;
    CHECK(lq_qweight_init(&W, LQ_TYPE_F32, f, 4, 32, true));
    CHECK(W.dot == NULL && lq_qweight_f32(&W) == f && W.owned == NULL);
    lq_qweight_free(&W);
    CHECK(lq_qweight_init(&W, LQ_TYPE_F32, f, 4, 32, false));
    CHECK(W.dot == NULL && lq_qweight_f32(&W) != f && lq_qweight_f32(&W)[33] == 33.0f);
    lq_qweight_free(&W);
    TEST_END();
}
