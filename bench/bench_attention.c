/* Generation-step attention over F32, F16 and Q8 KV caches: one token's
 * query heads against P cached tokens, single thread, SmolLM2-135M's shape
 * by default (9 query heads sharing 3 KV heads of 64). Checks each kernel
 * against its reference first.
 * usage: bench_attention [P reps]   (default 512 200) */
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "quant/types.h"

#include "bench_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

enum { H = 9, HKV = 3, HD = 64 };

typedef struct cache {
    const char *name;
    void *K, *V;
    size_t head, stride; /* bytes */
} cache;

/* all H heads once; kv: NULL for the F32 cache */
static void run(float *out, const float *q, const cache *c, int P, lq_attn_row_fn f32, lq_attn_row_kv_fn kv,
                float *scores) {
    for (int h = 0; h < H; h++) {
        const char *K = (const char *)c->K + (h / (H / HKV)) * c->head, *V = (const char *)c->V + (h / (H / HKV)) * c->head;
        if (kv) kv(out + h * HD, q + h * HD, K, V, P, HD, c->stride, 0.125f, scores);
        else f32(out + h * HD, q + h * HD, (const float *)K, (const float *)V, P, HD, (int)(c->stride / 4), 0.125f, scores);
    }
}

/* all H heads in position chunks, as generation runs them (attention.h; a
 * Q8 cache's queries quantized once first); parts: H * (P / chunk + 1) *
 * (HD + 2) floats, scratch: lq_attn_part_scratch */
static void run_chunked(float *out, const float *q, const cache *c, int P, lq_attn_part_fn part, float *scratch,
                        float *parts) {
    int n_chunks = (P + LQ_ATTN_CHUNK - 1) / LQ_ATTN_CHUNK, G = H / HKV;
    float *o = parts, *ml = parts + (size_t)H * n_chunks * HD;
    const bool q8 = !strcmp(c->name, "q8");
    const size_t qb = q8 ? lq_kv_q8_bytes(HD) : HD * sizeof(float);
    _Alignas(16) char qq[H * (HD + HD / 8)]; /* H rows of lq_kv_q8_bytes(HD) */
    for (int h = 0; q8 && h < H; h++) lq_kv_q8_quantize(qq + h * qb, q + h * HD, HD);
    const char *qrows = q8 ? qq : (const char *)q;
    for (int kvh = 0; kvh < HKV; kvh++)
        for (int ch = 0; ch < n_chunks; ch++) {
            int j0 = ch * LQ_ATTN_CHUNK, n = P - j0 < LQ_ATTN_CHUNK ? P - j0 : LQ_ATTN_CHUNK;
            size_t at = (size_t)j0 * c->stride + kvh * c->head, oh = (size_t)ch * H + kvh * G;
            part(o + oh * HD, ml + 2 * oh, qrows + kvh * G * qb, G, (const char *)c->K + at, (const char *)c->V + at, n,
                 HD, c->stride, 0.125f, scratch);
        }
    for (int h = 0; h < H; h++) lq_attn_merge(out + h * HD, o + h * HD, ml + 2 * h, n_chunks, HD, H);
}

int main(int argc, char **argv) {
    int P = argc > 1 ? atoi(argv[1]) : 512, reps = argc > 2 ? atoi(argv[2]) : 200;
    if (P <= 0 || reps <= 0 || reps > 100000) return fprintf(stderr, "bad arguments\n"), 2;
    const lq_kernels *k = lq_kernels_get();
    size_t q8h = lq_kv_q8_bytes(HD);
    cache cs[3] = {{"f32", NULL, NULL, HD * 4, 0}, {"f16", NULL, NULL, HD * 2, 0}, {"q8", NULL, NULL, q8h, 0}};
    float *src = malloc((size_t)P * HKV * HD * 4 * 2), q[H * HD], out[H * HD], ref[H * HD];
    float *scores = malloc(((size_t)P + lq_attn_part_scratch(LQ_ATTN_CHUNK)) * 4);
    for (size_t i = 0; i < (size_t)P * HKV * HD * 2; i++) src[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    for (int i = 0; i < H * HD; i++) q[i] = (float)(i % 13) / 6.5f - 1.0f;
    for (int c = 0; c < 3; c++) {
        cs[c].stride = HKV * cs[c].head;
        cs[c].K = malloc(cs[c].stride * P);
        cs[c].V = malloc(cs[c].stride * P);
        for (int r = 0; r < P * HKV; r++) {
            const float *kr = src + (size_t)r * HD, *vr = src + ((size_t)P * HKV + r) * HD;
            char *K = (char *)cs[c].K + r * cs[c].head, *V = (char *)cs[c].V + r * cs[c].head;
            if (c == 0) memcpy(K, kr, HD * 4), memcpy(V, vr, HD * 4);
            for (int i = 0; c == 1 && i < HD; i++)
                ((uint16_t *)K)[i] = lq_fp32_to_fp16(kr[i]), ((uint16_t *)V)[i] = lq_fp32_to_fp16(vr[i]);
            if (c == 2) lq_kv_q8_quantize(K, kr, HD), lq_kv_q8_quantize(V, vr, HD);
        }
    }
    float *parts = malloc((size_t)H * (P / LQ_ATTN_CHUNK + 1) * (HD + 2) * sizeof(float));
    struct { int c; lq_attn_row_fn f32; lq_attn_row_kv_fn kv, kv_ref; lq_attn_part_fn part; const char *isa; } runs[] = {
        {0, lq_attn_row_f32_ref, NULL, NULL, NULL, "ref"},    {0, k->attn_row_f32, NULL, NULL, NULL, k->isa},
        {0, NULL, NULL, NULL, k->attn_part_f32, "chunked"},
        {1, NULL, lq_attn_row_f16_ref, NULL, NULL, "ref"},    {1, NULL, k->attn_row_f16, lq_attn_row_f16_ref, NULL, k->isa},
        {1, NULL, NULL, lq_attn_row_f16_ref, k->attn_part_f16, "chunked"},
        {2, NULL, lq_attn_row_q8_ref, NULL, NULL, "ref"},     {2, NULL, k->attn_row_q8, lq_attn_row_q8_ref, NULL, k->isa},
        {2, NULL, NULL, lq_attn_row_q8_ref, k->attn_part_q8, "chunked"},
    };
    printf("P %d, %d query heads over %d KV heads of %d, 1 thread, median of %d\n", P, H, HKV, HD, reps);
    printf("%-5s %-7s %10s %10s %12s\n", "cache", "kernel", "us/token", "GB/s", "cache bytes");
    double *t = malloc((size_t)reps * sizeof *t);
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        const cache *c = &cs[runs[r].c];
        if (runs[r].part == NULL && runs[r].f32 == NULL && runs[r].kv == NULL) continue; /* no chunked kernel here */
        run(ref, q, c, P, lq_attn_row_f32_ref, runs[r].kv_ref ? runs[r].kv_ref : runs[r].kv, scores);
#define RUN() (runs[r].part ? run_chunked(out, q, c, P, runs[r].part, scores, parts) \
                            : run(out, q, c, P, runs[r].f32, runs[r].kv, scores))
        RUN();
        double worst = 0;
        for (int i = 0; i < H * HD; i++) worst = fmax(worst, fabs(out[i] - ref[i]));
        if (!(worst < 1e-4)) return fprintf(stderr, "%s %s: %g from the reference\n", c->name, runs[r].isa, worst), 1;
        for (int i = 0; i < reps; i++) {
            double t0 = now();
            RUN();
            t[i] = now() - t0;
        }
        qsort(t, (size_t)reps, sizeof *t, cmp_double);
        size_t bytes = 2 * c->stride * (size_t)P; /* K and V of one layer; each KV head read by 3 query heads */
        printf("%-5s %-7s %10.1f %10.1f %12zu\n", c->name, runs[r].isa, t[reps / 2] * 1e6,
               (double)bytes * (H / HKV) / t[reps / 2] / 1e9, bytes);
    }
    free(t), free(src), free(scores), free(parts);
    for (int c = 0; c < 3; c++) free(cs[c].K), free(cs[c].V);
    return 0;
}
