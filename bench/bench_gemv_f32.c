/* Float GEMV throughput against this machine's read bandwidth, measured in
 * the same run. Checks the result against the reference kernel first.
 * usage: bench_gemv_f32 [rows cols reps]   (default 16384 4096 20) */
#include "kernels/matmul.h"
#include "llmq/llmq.h"

#include "bench_util.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>


/* read-sum over the array with nt threads: GB/s, median of reps */
static double read_bw(const float *a, size_t n, int nt, int reps) {
    double t[64], sink = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now(), s = 0;
        #pragma omp parallel for num_threads(nt) reduction(+ : s) schedule(static)
        for (size_t i = 0; i < n; i += 16) s += a[i] + a[i + 4] + a[i + 8] + a[i + 12];
        t[r] = now() - t0;
        sink += s;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    if (sink == 12345.0) puts("");
    return (double)n * 4 / t[reps / 2] / 1e9;
}

int main(int argc, char **argv) {
    int rows = argc > 1 ? atoi(argv[1]) : 16384, cols = argc > 2 ? atoi(argv[2]) : 4096;
    int reps = argc > 3 ? atoi(argv[3]) : 20;
    if (rows <= 0 || cols <= 0 || reps <= 0 || reps > 64) return fprintf(stderr, "bad arguments\n"), 2;
    size_t n = (size_t)rows * cols;
    float *W = aligned_alloc(64, n * 4), *x = aligned_alloc(64, (size_t)cols * 4);
    float *y = aligned_alloc(64, (size_t)rows * 4), *yr = aligned_alloc(64, (size_t)rows * 4);
    for (size_t i = 0; i < n; i++) W[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (int i = 0; i < cols; i++) x[i] = (float)(i % 17) / 17.0f;
    lq_gemv_f32_ref(yr, x, W, cols, 0, rows);
    lq_matmul_f32(y, x, W, 1, cols, rows, 2);
    double err = 0;
    for (int r = 0; r < rows; r++) err = fmax(err, fabs(y[r] - yr[r]) / (1 + fabs(yr[r])));
    if (err > 1e-3) return fprintf(stderr, "result check failed: %g\n", err), 1;
    printf("GEMV f32 %d x %d (%.0f MB), isa %s, median of %d\n", rows, cols, n * 4 / 1e6, llmq_isa_name(), reps);
    for (int nt = 1; nt <= 2; nt++) {
        double t[64];
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            lq_matmul_f32(y, x, W, 1, cols, rows, nt);
            t[r] = now() - t0;
        }
        qsort(t, (size_t)reps, sizeof t[0], cmp_double);
        double gbs = (double)n * 4 / t[reps / 2] / 1e9, bw = read_bw(W, n, nt, reps);
        printf("  %d thread(s): %.2f G weights/s, %.1f GB/s; read bandwidth %.1f GB/s (%.0f%%)\n", nt,
               (double)n / t[reps / 2] / 1e9, gbs, bw, 100 * gbs / bw);
    }
    free(W), free(x), free(y), free(yr);
    return 0;
}
