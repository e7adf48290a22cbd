/* Single-query attention: ref and AVX-512 against a double-precision
 * reference, for head sizes on and off the fast path, strided caches and
 * NaN-prefilled outputs. */
#include "llmq/llmq.h"
#include "core/cpu.h"
#include "kernels/attention.h"
#include "test.h"

#include <stdint.h>

static uint64_t rng = 7;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
}

static void check(const char *name, lq_attn_row_fn fn, int P, int hd, int stride) {
    float *K = malloc((size_t)P * stride * 4), *V = malloc((size_t)P * stride * 4);
    float q[256], out[256], scores[2048];
    double ref[256], s[2048];
    for (int i = 0; i < P * stride; i++) K[i] = 3 * frand(), V[i] = frand();
    for (int i = 0; i < hd; i++) q[i] = frand(), out[i] = NAN;
    float scale = 1.0f / sqrtf((float)hd);
    double mx = -INFINITY, sum = 0;
    for (int j = 0; j < P; j++) {
        s[j] = 0;
        for (int i = 0; i < hd; i++) s[j] += (double)q[i] * K[(size_t)j * stride + i];
        s[j] *= scale;
        mx = fmax(mx, s[j]);
    }
    for (int j = 0; j < P; j++) sum += s[j] = exp(s[j] - mx);
    for (int i = 0; i < hd; i++) {
        ref[i] = 0;
        for (int j = 0; j < P; j++) ref[i] += s[j] / sum * V[(size_t)j * stride + i];
    }
    fn(out, q, K, V, P, hd, stride, scale, scores);
    double worst = 0;
    for (int i = 0; i < hd; i++) {
        double e = fabs(out[i] - ref[i]);
        if (!(e <= worst)) worst = e;
    }
    CHECK_MSG(worst < 2e-5, "%s P %d hd %d stride %d: worst error %g", name, P, hd, stride, worst);
    free(K);
    free(V);
}

int main(void) {
    static const int shapes[][3] = {{1, 64, 64}, {7, 64, 192}, {513, 64, 192}, {33, 16, 48}, {9, 48, 96},
                                    {100, 128, 256}, {5, 10, 30}, {2000, 64, 64}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        check("ref", lq_attn_row_f32_ref, shapes[i][0], shapes[i][1], shapes[i][2]);
        if (lq_cpu()->avx512f) check("avx512", lq_attn_row_f32_avx512, shapes[i][0], shapes[i][1], shapes[i][2]);
    }
    printf("isa %s\n", llmq_isa_name());
    TEST_END();
}
