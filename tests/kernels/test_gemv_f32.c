/* Every float GEMV path against a double-precision reference, with tails,
 * outliers, zero rows and NaN-prefilled outputs. */
#include "llmq/llmq.h"
#include "core/cpu.h"
#include "kernels/matmul.h"
#include "test.h"

#include <stdint.h>

static uint64_t rng = 42;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
}

static void check_kernel(const char *name, lq_gemv_f32_fn fn, int rows, int in) {
    float *W = malloc((size_t)rows * in * sizeof *W), *x = malloc((size_t)in * sizeof *x);
    float *y = malloc((size_t)rows * sizeof *y);
    for (int i = 0; i < rows * in; i++) W[i] = frand();
    for (int i = 0; i < in; i++) x[i] = frand();
    if (rows > 2) {
        for (int i = 0; i < in; i++) W[in + i] = 0.0f;  /* an all-zero row */
        W[2 * in + in / 2] = 1000.0f;                    /* a single outlier */
    }
    for (int r = 0; r < rows; r++) y[r] = NAN;
    fn(y, x, W, in, 0, rows);
    double worst = 0.0;
    for (int r = 0; r < rows; r++) {
        double ref = 0.0, mag = 0.0;
        for (int i = 0; i < in; i++) {
            ref += (double)W[(size_t)r * in + i] * x[i];
            mag += fabs((double)W[(size_t)r * in + i] * x[i]);
        }
        double err = fabs(y[r] - ref) / (mag + 1e-30);
        if (!(err <= worst)) worst = err; /* catches NaN */
    }
    CHECK_MSG(worst < 1e-5, "%s rows %d in %d: worst relative error %g", name, rows, in, worst);
    free(W);
    free(x);
    free(y);
}

int main(void) {
    static const int shapes[][2] = {{1, 1}, {3, 7}, {5, 16}, {7, 17}, {16, 64}, {33, 576}, {65, 1536}, {9, 1000}};
    const lq_cpu_features *f = lq_cpu();
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rows = shapes[s][0], in = shapes[s][1];
        check_kernel("ref", lq_gemv_f32_ref, rows, in);
        if (f->avx2 && f->fma) check_kernel("avx2", lq_gemv_f32_avx2, rows, in);
        if (f->avx512f) check_kernel("avx512", lq_gemv_f32_avx512, rows, in);
    }
    /* the threaded entry point over several rows equals the single-row kernel */
    int n = 2, in = 576, out = 1000;
    float *W = malloc((size_t)out * in * 4), *X = malloc((size_t)n * in * 4), *Y = malloc((size_t)n * out * 4);
    float *y1 = malloc((size_t)out * 4);
    for (int i = 0; i < out * in; i++) W[i] = frand();
    for (int i = 0; i < n * in; i++) X[i] = frand();
    lq_matmul_f32(Y, X, W, n, in, out, 2);
    lq_matmul_f32(y1, X + in, W, 1, in, out, 2);
    double worst = 0;
    for (int r = 0; r < out; r++) worst = fmax(worst, fabs(Y[out + r] - y1[r]));
    CHECK_MSG(worst < 1e-3, "sgemm vs gemv differ by %g", worst);
    printf("isa %s\n", llmq_isa_name());
    free(W), free(X), free(Y), free(y1);
    TEST_END();
}
