/* Softmax and SwiGLU rows: reference and AVX-512 against double precision,
 * over lengths with tails, large and tiny values (no overflow, no NaN). The
 * AVX-512 Q8_0 row quantizer gives the reference's bytes, ties included. */
#include "core/cpu.h"
#include "kernels/activations.h"
#include "quant/quantize.h"
#include "test.h"

#include <stdint.h>

static uint64_t rng = 12345;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
}

static void check_softmax(const char *name, lq_softmax_fn f, int n, float spread) {
    float x[700] = {0};
    double ref[700] = {0}, mx = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++) x[i] = spread * frand(), mx = fmax(mx, x[i]);
    for (int i = 0; i < n; i++) sum += ref[i] = exp((double)x[i] - mx);
    f(x, n);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double p = ref[i] / sum;
        /* relative error of each probability; below float's range only absolute */
        double e = p > 1e-30 ? fabs(x[i] - p) / p : fabs(x[i] - p) * 1e30;
        if (!(e <= worst)) worst = e;
    }
    /* x - max is rounded to float first: its ulp (up to 2 * spread * 2^-24) moves e^(x - max) */
    double tol = 2e-6 + 2 * spread * 6e-8;
    CHECK_MSG(worst < tol, "%s softmax n %d spread %g: worst relative error %g", name, n, spread, worst);
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    CHECK_MSG(fabs(s - 1) < 1e-5, "%s softmax n %d: sums to %.9g", name, n, s);
}

static void check_swiglu(const char *name, lq_swiglu_fn f, size_t n, float spread) {
    float g[700] = {0}, u[700] = {0};
    double ref[700] = {0};
    for (size_t i = 0; i < n; i++) {
        g[i] = spread * frand(), u[i] = frand();
        ref[i] = (double)g[i] / (1.0 + exp(-(double)g[i])) * u[i];
    }
    f(g, u, n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(g[i] - ref[i]) / (fabs(ref[i]) + 1e-30);
        if (!(e <= worst)) worst = e;
    }
    CHECK_MSG(worst < 2e-6, "%s swiglu n %zu spread %g: worst relative error %g", name, n, spread, worst);
}

/* blocks of: random values, an all-zero block, exact .5 ties of x * id
 * (amax 127 makes id 1), one outlier, tiny values */
static void check_quant_q8_0(void) {
    enum { N = 32 * 8 };
    float x[N];
    for (int i = 0; i < N; i++) x[i] = 3.0f * frand();
    for (int i = 32; i < 64; i++) x[i] = 0.0f;
    for (int i = 64; i < 96; i++) x[i] = (float)(i - 80) + 0.5f;
    x[95] = 127.0f;
    x[100] = -1000.0f;
    for (int i = 128; i < 160; i++) x[i] = 1e-30f * frand();
    for (int i = 160; i < 192; i++) x[i] = i % 2 ? -2.5f : 0.5f;
    uint8_t a[N / 32 * 34], b[N / 32 * 34];
    lq_quant_q8_0_ref(x, a, N);
    lq_quant_q8_0_avx512(x, b, N);
    CHECK_MSG(!memcmp(a, b, sizeof a), "avx512 Q8_0 row differs from the reference");
    CHECK_EQ_INT(((const int8_t *)a)[2 + 34 * 2 + 0], -16); /* -15.5 rounds away from zero */
}

int main(void) {
    if (lq_cpu()->avx512f) check_quant_q8_0();
    static const int ns[] = {1, 5, 16, 17, 255, 513, 700};
    static const float spreads[] = {1.0f, 20.0f, 200.0f};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (size_t j = 0; j < sizeof spreads / sizeof spreads[0]; j++) {
            check_softmax("ref", lq_softmax_ref, ns[i], spreads[j]);
            check_swiglu("ref", lq_swiglu_ref, (size_t)ns[i], spreads[j]);
            if (lq_cpu()->avx2 && lq_cpu()->fma) {
                check_softmax("avx2", lq_softmax_avx2, ns[i], spreads[j]);
                check_swiglu("avx2", lq_swiglu_avx2, (size_t)ns[i], spreads[j]);
            }
            if (lq_cpu()->avx512f) {
                check_softmax("avx512", lq_softmax_avx512, ns[i], spreads[j]);
                check_swiglu("avx512", lq_swiglu_avx512, (size_t)ns[i], spreads[j]);
            }
        }
    TEST_END();
}
