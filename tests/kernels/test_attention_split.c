/* Generation's attention in position chunks (attention.h): the chunk
 * kernels (ref, AVX2) over F32 and F16 caches, merged as the decoder merges
 * them, against a double-precision reference on the stored values:
 *  - P = 1, one chunk less one, exactly one chunk, one more, several chunks
 *    with a short last one, and a long cache;
 *  - head sizes 64 (the unrolled path), 16, 128, 256 and 40 (AVX2 main
 *    path), 10 and 300 (off it: the reference);
 *  - G = 1, 3 and 4 query heads per KV head, each head's output in its own
 *    slot; strided caches (KV head 1 of 3);
 *  - NaN-prefilled outputs, (max, sum) pairs and scratch;
 *  - scores far apart (one key dominating a chunk, chunks whose maxima
 *    differ by more than expf can carry) merge to the same softmax. */
#include "core/cpu.h"
#include "kernels/attention.h"
#include "quant/types.h"
#include "test.h"

#include <stdbool.h>
#include <stdint.h>

static uint64_t rng = 23;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
}

enum { HKV = 3 }; /* the cache holds 3 KV heads; the test attends with head 1 */

static float stored(const char *row, int i, bool half) {
    return half ? lq_fp16_to_fp32(((const uint16_t *)row)[i]) : ((const float *)row)[i];
}

/* G heads of query q over P keys of head 1, chunk by chunk through fn, then merged */
static void check(const char *name, lq_attn_part_fn fn, bool half, int P, int hd, int G, float kscale) {
    size_t es = half ? 2 : 4, stride = (size_t)HKV * hd * es;
    char *K = malloc((size_t)P * stride), *V = malloc((size_t)P * stride);
    for (size_t r = 0; r < (size_t)P * HKV * hd; r++) {
        float k = kscale * frand(), v = frand();
        if (half) ((uint16_t *)K)[r] = lq_fp32_to_fp16(k), ((uint16_t *)V)[r] = lq_fp32_to_fp16(v);
        else ((float *)K)[r] = k, ((float *)V)[r] = v;
    }
    int n_chunks = (P + LQ_ATTN_CHUNK - 1) / LQ_ATTN_CHUNK;
    float *q = malloc((size_t)G * hd * 4), *out = malloc((size_t)G * hd * 4);
    float *o = malloc((size_t)n_chunks * G * hd * 4), *ml = malloc((size_t)n_chunks * G * 2 * 4);
    float *scratch = malloc(lq_attn_part_scratch(LQ_ATTN_CHUNK) * 4);
    for (int i = 0; i < G * hd; i++) q[i] = frand(), out[i] = NAN;
    for (size_t i = 0; i < (size_t)n_chunks * G * hd; i++) o[i] = NAN;
    for (size_t i = 0; i < (size_t)n_chunks * G * 2; i++) ml[i] = NAN;
    for (size_t i = 0; i < lq_attn_part_scratch(LQ_ATTN_CHUNK); i++) scratch[i] = NAN;
    float scale = 1.0f / sqrtf((float)hd);
    const char *K1 = K + (size_t)hd * es, *V1 = V + (size_t)hd * es; /* KV head 1 */
    for (int c = 0; c < n_chunks; c++) {
        int j0 = c * LQ_ATTN_CHUNK, n = P - j0 < LQ_ATTN_CHUNK ? P - j0 : LQ_ATTN_CHUNK;
        fn(o + (size_t)c * G * hd, ml + (size_t)c * G * 2, q, G, K1 + (size_t)j0 * stride, V1 + (size_t)j0 * stride,
           n, hd, stride, scale, scratch);
    }
    for (int g = 0; g < G; g++) lq_attn_merge(out + (size_t)g * hd, o + (size_t)g * hd, ml + 2 * g, n_chunks, hd, G);
    double *s = malloc((size_t)P * sizeof *s), worst = 0;
    for (int g = 0; g < G; g++) {
        const float *qg = q + (size_t)g * hd;
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < P; j++) {
            s[j] = 0;
            for (int i = 0; i < hd; i++) s[j] += (double)qg[i] * stored(K1 + (size_t)j * stride, i, half);
            s[j] *= scale;
            mx = fmax(mx, s[j]);
        }
        for (int j = 0; j < P; j++) sum += s[j] = exp(s[j] - mx);
        for (int i = 0; i < hd; i++) {
            double ref = 0;
            for (int j = 0; j < P; j++) ref += s[j] / sum * stored(V1 + (size_t)j * stride, i, half);
            double e = fabs(out[(size_t)g * hd + i] - ref);
            if (!(e <= worst)) worst = e; /* a NaN left in out fails here */
        }
    }
    CHECK_MSG(worst < 2e-5, "%s %s P %d hd %d G %d key scale %g: worst error %g", name, half ? "f16" : "f32", P, hd, G,
              kscale, worst);
    free(K), free(V), free(q), free(out), free(o), free(ml), free(scratch), free(s);
}

int main(void) {
    const int C = LQ_ATTN_CHUNK;
    const int Ps[] = {1, C - 1, C, C + 1, 3 * C + 5, 1000};
    const int hds[] = {64, 16, 40, 128, 256, 10, 300};
    const int Gs[] = {1, 3, 4};
    bool avx2 = lq_cpu()->avx2 && lq_cpu()->fma && lq_cpu()->f16c;
    for (int half = 0; half < 2; half++)
        for (size_t a = 0; a < sizeof Ps / sizeof Ps[0]; a++)
            for (size_t b = 0; b < sizeof hds / sizeof hds[0]; b++)
                for (size_t c = 0; c < sizeof Gs / sizeof Gs[0]; c++) {
                    int P = Ps[a], hd = hds[b], G = Gs[c];
                    if ((size_t)P * hd > 100000 && G > 1) continue; /* the long cache once per head size */
                    check("ref", half ? lq_attn_part_f16_ref : lq_attn_part_f32_ref, half, P, hd, G, 3.0f);
                    if (avx2) check("avx2", half ? lq_attn_part_f16_avx2 : lq_attn_part_f32_avx2, half, P, hd, G, 3.0f);
                }
    /* peaked scores: keys up to 40 x the query's scale, chunk maxima far apart */
    for (int half = 0; half < 2; half++) {
        check("ref", half ? lq_attn_part_f16_ref : lq_attn_part_f32_ref, half, 4 * C + 3, 64, 3, 40.0f);
        if (avx2) check("avx2", half ? lq_attn_part_f16_avx2 : lq_attn_part_f32_avx2, half, 4 * C + 3, 64, 3, 40.0f);
    }
    TEST_END();
}
