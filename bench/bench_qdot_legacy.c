/* Legacy 32-block GEMV throughput (weight bytes/s) per type and ISA, 1 and
 * 2 threads (OpenMP over 16-row chunks), against this machine's read
 * bandwidth measured in the same run; checks each kernel's bits against the
 * reference first. usage: bench_qdot_legacy [rows cols reps [types]]
 * (16384 4096 10, all types; types: comma-separated names, e.g. Q8_0,Q5_0);
 * a small rows count (e.g. 256) gives the cache-resident rate. "cpu" is the
 * one-thread rate by the thread's CPU time instead of the wall clock (the
 * kernel called directly, 32 rows a call as the model does, repeated for
 * about 20 ms per sample): on a shared machine it still shows the kernel's
 * own cost, and with a cache-resident matrix its compute rate. */
#include "core/cpu.h"
#include "core/lq.h"
#include "kernels/planar.h"
#include "kernels/qdot.h"
#include "quant/blocks.h"
#include "quant/quantize.h"
#include "quant/types.h"

#include "bench_util.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* GB/s of weights by thread CPU time, median of reps samples */
static double cpu_rate(const lq_qdot_info *k, float *y, const uint8_t *W, size_t rb, const void *xq, int cols,
                       int rows, int reps) {
    const int inner = (int)(2e7 / ((double)rb * rows)) + 1; /* ~20 MB of weights per sample */
    double t[64];
    for (int r = 0; r < reps; r++) {
        const double c0 = thread_cpu();
        for (int i = 0; i < inner; i++)
            for (int r0 = 0; r0 < rows; r0 += 32) k->rows(y, W, rb, xq, cols, r0, r0 + 32 < rows ? r0 + 32 : rows);
        t[r] = (thread_cpu() - c0) / inner;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return (double)rb * rows / t[reps / 2] / 1e9;
}

static void run(const lq_qdot_info *k, float *y, const uint8_t *W, size_t rb, const void *xq, int cols, int rows,
                int nt) {
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int r0 = 0; r0 < rows; r0 += 16) k->rows(y, W, rb, xq, cols, r0, r0 + 16 < rows ? r0 + 16 : rows);
}

int main(int argc, char **argv) {
    int rows = argc > 1 ? atoi(argv[1]) : 16384, cols = argc > 2 ? atoi(argv[2]) : 4096;
    int reps = argc > 3 ? atoi(argv[3]) : 10;
    if (rows <= 0 || cols <= 0 || cols % 32 || reps <= 0 || reps > 64) return fprintf(stderr, "bad arguments\n"), 2;
    const struct { const char *name; uint32_t t; size_t bs; void (*q)(const float *, void *, int64_t); int q81; } ty[] = {
        {"Q4_0", LQ_TYPE_Q4_0, 18, lq_quant_q4_0_ref, 0},   {"Q4_1", LQ_TYPE_Q4_1, 20, lq_quant_q4_1_ref, 1},
        {"Q5_0", LQ_TYPE_Q5_0, 22, lq_quant_q5_0_ref, 0},   {"Q5_1", LQ_TYPE_Q5_1, 24, lq_quant_q5_1_ref, 1},
        {"Q8_0", LQ_TYPE_Q8_0, 34, lq_quant_q8_0_ref, 0},   {"IQ4_NL", LQ_TYPE_IQ4_NL, 18, lq_quant_iq4_nl_ref, 0},
        {"MXFP4", LQ_TYPE_MXFP4, 17, lq_quant_mxfp4_ref, 0},
    };
    const lq_cpu_features *f = lq_cpu();
    const int have[3] = {1, f->avx2 && f->fma && f->f16c, f->avx512f && f->avx512bw && f->avx512vl && f->avx512vnni};
    float *row = malloc(sizeof(float) * cols), *x = malloc(sizeof(float) * cols);
    float *y = malloc(sizeof(float) * rows), *yr = malloc(sizeof(float) * rows);
    void *xq = malloc((size_t)(cols / 32) * 36);
    for (int i = 0; i < cols; i++) x[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    for (int i = 0; i < cols; i++) row[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    const size_t bytes_max = (size_t)rows * (cols / 32) * 34;
    const size_t alloc = (bytes_max + 63) & ~(size_t)63;
    uint8_t *W = aligned_alloc(64, alloc);
    for (size_t i = 0; i < bytes_max; i++) W[i] = (uint8_t)(i * 131u >> 3); /* real pages, not the zero page */
    printf("GEMV %d x %d, median of %d, GB/s of weight bytes\n", rows, cols, reps);
    for (int nt = 1; nt <= 2; nt++) printf("  read bandwidth %d thread(s): %.1f GB/s\n", nt, bench_read_bw(W, bytes_max, nt, reps));
    for (size_t i = 0; i < sizeof ty / sizeof ty[0]; i++) {
        if (argc > 4 && !has_name(argv[4], ty[i].name)) continue;
        const size_t rb = (size_t)(cols / 32) * ty[i].bs;
        for (int r = 0; r < rows; r++) {
            row[r % cols] += 0.25f; /* rows differ */
            ty[i].q(row, W + r * rb, cols);
        }
        if (ty[i].q81) lq_quant_q8_1_ref(x, xq, cols);
        else lq_quant_q8_0_ref(x, xq, cols);
        lq_qdot_legacy_lookup(ty[i].t, 0)->rows(yr, W, rb, xq, cols, 0, rows);
        printf("  %-6s", ty[i].name);
        for (int isa = 1; isa <= 2; isa++) {
            if (!have[isa]) continue;
            const lq_qdot_info *k = lq_qdot_legacy_lookup(ty[i].t, isa);
            /* the rows k reads: planar ones packed (kernels/planar.h) */
            uint8_t *P = k->planar ? lq_planar_packed(k->planar, W, rb, rows) : NULL;
            const uint8_t *Wk = P ? P : W;
            run(k, y, Wk, rb, xq, cols, rows, 2);
            if (memcmp(y, yr, sizeof(float) * rows)) return fprintf(stderr, "%s isa %d differs from ref\n", ty[i].name, isa), 1;
            for (int nt = 1; nt <= 2; nt++) {
                double t[64];
                for (int r = 0; r < reps; r++) {
                    const double t0 = now();
                    run(k, y, Wk, rb, xq, cols, rows, nt);
                    t[r] = now() - t0;
                }
                qsort(t, (size_t)reps, sizeof t[0], cmp_double);
                printf("  %s %dT %5.1f", isa == 1 ? "avx2" : "avx512", nt, (double)rb * rows / t[reps / 2] / 1e9);
            }
            printf(" cpu %5.1f", cpu_rate(k, y, Wk, rb, xq, cols, rows, reps));
            lq_free_aligned(P);
        }
        printf("\n");
    }
    free(row), free(x), free(y), free(yr), free(xq), free(W);
    return 0;
}
