/* GEMV from DRAM ("cold") against back to back ("warm"): each rep reads a
 * 1 GiB array (its read bandwidth, and the matrix leaves the caches), then
 * times one GEMV (cold) and a second right after it (warm), 2 threads
 * splitting the rows in chunks of 32 as the model does. A matrix smaller
 * than the last-level cache (this VM: 32 MiB; 16384 x 4096 of a format of
 * 4.5 bits or less is 18-38 MB) is partly there again for the warm call,
 * as in a benchmark that repeats one GEMV; in a model every GEMV reads
 * another matrix, as the cold call does. Shares of the read bandwidth are
 * medians of the per-rep shares.
 * usage: bench_gemv_cold TYPES [ROWS [COLS [REPS [THREADS]]]] (16384 4096 11 2) */
#include "algo/rtn.h"
#include "core/lq.h"
#include "kernels/planar.h"
#include "kernels/qdot.h"
#include "quant/types.h"

#include "bench_util.h"

#include <omp.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_gemv_cold TYPES [ROWS [COLS [REPS [THREADS]]]]\n");
        return 2;
    }
    const int rows = argc > 2 ? atoi(argv[2]) : 16384, n = argc > 3 ? atoi(argv[3]) : 4096;
    const int reps = argc > 4 ? atoi(argv[4]) : 11, nt = argc > 5 ? atoi(argv[5]) : 2;
    if (rows < 32 || n < 256 || n % 256 || reps < 1 || reps > 64 || nt < 1) {
        fprintf(stderr, "bench_gemv_cold: bad sizes (COLS a multiple of 256, REPS 1..64)\n");
        return 2;
    }
    const size_t nbw = (size_t)1 << 30;
    uint8_t *big = malloc(nbw);
    float *src = malloc((size_t)rows * n * sizeof(float)), *xf = malloc((size_t)n * sizeof(float));
    if (!big || !src || !xf) return 1;
    memset(big, 1, nbw);
    srand(1);
    for (size_t i = 0; i < (size_t)rows * n; i++)
        src[i] = ((float)rand() / (float)RAND_MAX - 0.5f) * (i % 97 == 0 ? 8.0f : 1.0f);
    for (int i = 0; i < n; i++) xf[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    printf("isa %s, %d thread(s), %d x %d, median of %d reps; shares of the 1 GiB read-sum before each\n",
           llmq_isa_name(), nt, rows, n, reps);
    printf("%-13s %7s | %9s %5s | %9s %5s | %7s\n", "type", "MB", "cold GB/s", "%", "warm GB/s", "%", "read");
    for (uint32_t t = 0; t < 256; t++) {
        const lq_type_traits *tr = lq_type_get(t);
        const lq_qdot_info *k = tr && tr->name && has_name(argv[1], tr->name) ? lq_qdot_get(t) : NULL;
        const size_t rb = k ? lq_row_size(t, n) : 0;
        if (!rb) continue;
        const size_t xbytes = k->act_type == LQ_TYPE_F32 ? (size_t)n * sizeof(float) : lq_row_size(k->act_type, n);
        uint8_t *W = malloc(rb * rows), *xq = malloc(xbytes);
        float *y = malloc((size_t)rows * sizeof(float));
        lq_err err = {0};
        if (!W || !xq || !y || lq_rtn_quantize(src, rows, n, t, W, nt, &err) != LLMQ_OK) return 1; /* as llmq quantize */
        lq_rtn_row_fn(k->act_type)(xf, xq, n);
        uint8_t *Wk = k->planar ? lq_planar_packed(k->planar, W, rb, rows) : W; /* the rows the kernel reads */
        if (!Wk) return 1;
        const double bytes = (double)rb * rows;
        double tc[64], tw[64], bw[64], sc[64], sw[64];
        for (int r = 0; r < reps; r++) {
            bw[r] = bench_read_bw(big, nbw, nt, 1);
            double t0 = now();
            bench_gemv_team(k->rows, y, Wk, rb, xq, n, rows, nt);
            tc[r] = now() - t0;
            t0 = now();
            bench_gemv_team(k->rows, y, Wk, rb, xq, n, rows, nt);
            tw[r] = now() - t0;
            sc[r] = bytes / tc[r] / 1e9 / bw[r], sw[r] = bytes / tw[r] / 1e9 / bw[r];
        }
        printf("%-13s %7.1f | %9.1f %4.0f%% | %9.1f %4.0f%% | %7.1f\n", tr->name, bytes / 1e6, bytes / bench_median(tc, reps) / 1e9,
               100 * bench_median(sc, reps), bytes / bench_median(tw, reps) / 1e9, 100 * bench_median(sw, reps), bench_median(bw, reps));
        fflush(stdout);
        if (Wk != W) lq_free_aligned(Wk);
        free(W), free(xq), free(y);
    }
    free(big), free(src), free(xf);
    return 0;
}
