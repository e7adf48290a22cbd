/* Generation's attention in position chunks (attention.h): the chunk
 * kernels (ref, AVX2) over F32, F16 and Q8 caches, merged as the decoder
 * merges them, against a double-precision reference on the stored values
 * (and for Q8 the query as the kernel quantizes it):
 *  - P = 1, one chunk less one, exactly one chunk, one more, several chunks
 *    with a short last one, and a long cache;
 *  - head sizes 64 (the unrolled path), 16, 128, 256 and 40 (AVX2 main
 *    path), 10 and 300 (off it: the reference);
 *  - G = 1, 3 and 4 query heads per KV head, each head's output in its own
 *    slot; strided caches (KV head 1 of 3);
 *  - NaN-prefilled outputs, (max, sum) pairs and scratch;
 *  - scores far apart (one key dominating a chunk, chunks whose maxima
 *    differ by more than expf can carry) merge to the same softmax;
 *  - Q8: the AVX2 chunks' largest scores equal the reference's bit for bit
 *    (their scores are integer dots and the reference's float steps). */
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

typedef enum { C_F32, C_F16, C_Q8 } cache_kind;
static const char *const kind_name[] = {"f32", "f16", "q8"};

static size_t head_bytes(cache_kind c, int hd) { return c == C_Q8 ? lq_kv_q8_bytes(hd) : (size_t)hd * (c == C_F16 ? 2 : 4); }

static void store_row(cache_kind c, char *dst, const float *x, int hd) {
    if (c == C_Q8) lq_kv_q8_quantize(dst, x, hd);
    else if (c == C_F16) for (int i = 0; i < hd; i++) ((uint16_t *)dst)[i] = lq_fp32_to_fp16(x[i]);
    else memcpy(dst, x, (size_t)hd * 4);
}

static void load_row(cache_kind c, float *x, const char *src, int hd) {
    if (c == C_Q8) lq_kv_q8_dequantize(x, src, hd);
    else if (c == C_F16) for (int i = 0; i < hd; i++) x[i] = lq_fp16_to_fp32(((const uint16_t *)src)[i]);
    else memcpy(x, src, (size_t)hd * 4);
}

/* G heads of query q over P keys of head 1, chunk by chunk through fn, then
 * merged; ref_fn (or NULL): the reference whose Q8 chunk maxima fn must equal */
static void check(const char *name, lq_attn_part_fn fn, lq_attn_part_fn ref_fn, cache_kind ck, int P, int hd, int G,
                  float kscale) {
    size_t hb = head_bytes(ck, hd), stride = HKV * hb;
    char *K = malloc((size_t)P * stride), *V = malloc((size_t)P * stride);
    float *row = malloc((size_t)hd * 4), *kd = malloc((size_t)P * hd * 4), *vd = malloc((size_t)P * hd * 4);
    for (int j = 0; j < P; j++)
        for (int h = 0; h < HKV; h++) {
            for (int i = 0; i < hd; i++) row[i] = kscale * frand();
            store_row(ck, K + (size_t)j * stride + h * hb, row, hd);
            for (int i = 0; i < hd; i++) row[i] = frand();
            store_row(ck, V + (size_t)j * stride + h * hb, row, hd);
        }
    const char *K1 = K + hb, *V1 = V + hb; /* KV head 1 */
    for (int j = 0; j < P; j++) { /* as stored */
        load_row(ck, kd + (size_t)j * hd, K1 + (size_t)j * stride, hd);
        load_row(ck, vd + (size_t)j * hd, V1 + (size_t)j * stride, hd);
    }
    int n_chunks = (P + LQ_ATTN_CHUNK - 1) / LQ_ATTN_CHUNK;
    float *q = malloc((size_t)G * hd * 4), *out = malloc((size_t)G * hd * 4), *qd = malloc((size_t)hd * 4);
    float *o = malloc((size_t)n_chunks * G * hd * 4), *ml = malloc((size_t)n_chunks * G * 2 * 4);
    float *o2 = malloc((size_t)G * hd * 4), *ml2 = malloc((size_t)G * 2 * 4);
    float *scratch = malloc(lq_attn_part_scratch(LQ_ATTN_CHUNK) * 4);
    char *qrow = malloc(lq_kv_q8_bytes(hd)), *qq = malloc((size_t)G * lq_kv_q8_bytes(hd));
    for (int i = 0; i < G * hd; i++) q[i] = frand(), out[i] = NAN;
    /* the kernels' query rows: floats, or for Q8 quantized once (attention.h) */
    for (int g = 0; ck == C_Q8 && g < G; g++) lq_kv_q8_quantize(qq + (size_t)g * lq_kv_q8_bytes(hd), q + (size_t)g * hd, hd);
    const void *qk = ck == C_Q8 ? (const void *)qq : (const void *)q;
    for (size_t i = 0; i < (size_t)n_chunks * G * hd; i++) o[i] = NAN;
    for (size_t i = 0; i < (size_t)n_chunks * G * 2; i++) ml[i] = NAN;
    for (size_t i = 0; i < lq_attn_part_scratch(LQ_ATTN_CHUNK); i++) scratch[i] = NAN;
    float scale = 1.0f / sqrtf((float)hd);
    bool same_max = true;
    for (int c = 0; c < n_chunks; c++) {
        int j0 = c * LQ_ATTN_CHUNK, n = P - j0 < LQ_ATTN_CHUNK ? P - j0 : LQ_ATTN_CHUNK;
        fn(o + (size_t)c * G * hd, ml + (size_t)c * G * 2, qk, G, K1 + (size_t)j0 * stride, V1 + (size_t)j0 * stride,
           n, hd, stride, scale, scratch);
        if (!ref_fn) continue;
        ref_fn(o2, ml2, qk, G, K1 + (size_t)j0 * stride, V1 + (size_t)j0 * stride, n, hd, stride, scale, scratch);
        for (int g = 0; g < G; g++) same_max &= memcmp(&ml2[2 * g], &ml[(size_t)c * G * 2 + 2 * g], 4) == 0;
    }
    CHECK_MSG(same_max, "%s %s P %d hd %d G %d: chunk maxima differ from the reference's", name, kind_name[ck], P, hd,
              G);
    for (int g = 0; g < G; g++) lq_attn_merge(out + (size_t)g * hd, o + (size_t)g * hd, ml + 2 * g, n_chunks, hd, G);
    double *s = malloc((size_t)P * sizeof *s), worst = 0;
    for (int g = 0; g < G; g++) {
        const float *qg = q + (size_t)g * hd;
        if (ck == C_Q8) { /* the query as the kernel sees it */
            lq_kv_q8_quantize(qrow, qg, hd);
            lq_kv_q8_dequantize(qd, qrow, hd);
            qg = qd;
        }
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < P; j++) {
            s[j] = 0;
            for (int i = 0; i < hd; i++) s[j] += (double)qg[i] * kd[(size_t)j * hd + i];
            s[j] *= scale;
            mx = fmax(mx, s[j]);
        }
        for (int j = 0; j < P; j++) sum += s[j] = exp(s[j] - mx);
        for (int i = 0; i < hd; i++) {
            double ref = 0;
            for (int j = 0; j < P; j++) ref += s[j] / sum * vd[(size_t)j * hd + i];
            double e = fabs(out[(size_t)g * hd + i] - ref);
            if (!(e <= worst)) worst = e; /* a NaN left in out fails here */
        }
    }
    CHECK_MSG(worst < 2e-5, "%s %s P %d hd %d G %d key scale %g: worst error %g", name, kind_name[ck], P, hd, G,
              kscale, worst);
    free(K), free(V), free(row), free(kd), free(vd), free(q), free(out), free(qd), free(o), free(ml), free(o2);
    free(ml2), free(scratch), free(qrow), free(qq), free(s);
}

int main(void) {
    const int C = LQ_ATTN_CHUNK;
    const int Ps[] = {1, C - 1, C, C + 1, 3 * C + 5, 1000};
    const int hds[] = {64, 16, 32, 40, 128, 256, 10, 300};
    const int Gs[] = {1, 3, 4};
    const lq_attn_part_fn ref[] = {lq_attn_part_f32_ref, lq_attn_part_f16_ref, lq_attn_part_q8_ref};
    const lq_attn_part_fn avx2[] = {lq_attn_part_f32_avx2, lq_attn_part_f16_avx2, lq_attn_part_q8_avx2};
    bool has_avx2 = lq_cpu()->avx2 && lq_cpu()->fma && lq_cpu()->f16c;
    for (int ck = C_F32; ck <= C_Q8; ck++)
        for (size_t a = 0; a < sizeof Ps / sizeof Ps[0]; a++)
            for (size_t b = 0; b < sizeof hds / sizeof hds[0]; b++)
                for (size_t c = 0; c < sizeof Gs / sizeof Gs[0]; c++) {
                    int P = Ps[a], hd = hds[b], G = Gs[c];
                    if ((size_t)P * hd > 100000 && G > 1) continue; /* the long cache once per head size */
                    check("ref", ref[ck], NULL, ck, P, hd, G, 3.0f);
                    if (has_avx2) check("avx2", avx2[ck], ck == C_Q8 ? ref[ck] : NULL, ck, P, hd, G, 3.0f);
                }
    /* peaked scores: keys up to 40 x the query's scale, chunk maxima far apart */
    for (int ck = C_F32; ck <= C_Q8; ck++) {
        check("ref", ref[ck], NULL, ck, 4 * C + 3, 64, 3, 40.0f);
        if (has_avx2) check("avx2", avx2[ck], ck == C_Q8 ? ref[ck] : NULL, ck, 4 * C + 3, 64, 3, 40.0f);
    }
    TEST_END();
}
