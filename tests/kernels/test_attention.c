/* Single-query attention: ref and AVX-512 against a double-precision
 * reference, for head sizes on and off the fast path, strided caches and
 * NaN-prefilled outputs. Causal prompt heads: AVX-512 against the reference
 * (one single-query row per position), with and without earlier keys. */
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

/* T queries at positions pos.. over pos + T keys; q/out rows qs apart, K/V ks */
static void check_causal(int T, int pos, int hd, int qs, int ks) {
    int P = pos + T;
    float *q = malloc((size_t)T * qs * 4), *K = malloc((size_t)P * ks * 4), *V = malloc((size_t)P * ks * 4);
    float *o1 = malloc((size_t)T * qs * 4), *o2 = malloc((size_t)T * qs * 4);
    float *scratch = malloc(lq_attn_causal_scratch(hd, P) * 4 + (size_t)P * 4);
    for (int i = 0; i < T * qs; i++) q[i] = frand(), o1[i] = o2[i] = NAN;
    for (int i = 0; i < P * ks; i++) K[i] = 3 * frand(), V[i] = frand();
    lq_attn_causal_ref(o1, q, K, V, T, pos, hd, qs, ks, scratch);
    lq_attn_causal_avx512(o2, q, K, V, T, pos, hd, qs, ks, scratch);
    double worst = 0;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < hd; i++) {
            double e = fabs(o2[(size_t)t * qs + i] - o1[(size_t)t * qs + i]);
            if (!(e <= worst)) worst = e;
        }
    CHECK_MSG(worst < 2e-6, "causal T %d pos %d hd %d: avx512 off the reference by %g", T, pos, hd, worst);
    /* the rest of each row (other heads' columns) is left alone */
    CHECK(qs == hd || isnan(o2[hd]));
    free(q), free(K), free(V), free(o1), free(o2), free(scratch);
}

int main(void) {
    static const int causal[][5] = {{1, 0, 64, 64, 64}, {4, 0, 64, 192, 64}, {5, 0, 16, 48, 32},
                                    {37, 0, 64, 576, 192}, {130, 0, 32, 96, 64}, {9, 7, 64, 128, 64},
                                    {64, 300, 48, 48, 48}, {3, 2, 40, 40, 40}};
    for (size_t i = 0; i < sizeof causal / sizeof causal[0] && lq_cpu()->avx512f; i++)
        check_causal(causal[i][0], causal[i][1], causal[i][2], causal[i][3], causal[i][4]);
    static const int shapes[][3] = {{1, 64, 64}, {7, 64, 192}, {513, 64, 192}, {33, 16, 48}, {9, 48, 96},
                                    {100, 128, 256}, {5, 10, 30}, {2000, 64, 64}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        check("ref", lq_attn_row_f32_ref, shapes[i][0], shapes[i][1], shapes[i][2]);
        if (lq_cpu()->avx2 && lq_cpu()->fma && lq_cpu()->f16c)
            check("avx2", lq_attn_row_f32_avx2, shapes[i][0], shapes[i][1], shapes[i][2]);
        if (lq_cpu()->avx512f) check("avx512", lq_attn_row_f32_avx512, shapes[i][0], shapes[i][1], shapes[i][2]);
    }
    printf("isa %s\n", llmq_isa_name());
    TEST_END();
}
