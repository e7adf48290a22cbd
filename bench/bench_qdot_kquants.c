/* K-quant GEMV throughput (weight bytes/s) per type and ISA, 1 and 2
 * threads (OpenMP over chunks of 16 rows), against this machine's read
 * bandwidth measured in the same run; then the same on a cache-resident
 * matrix. Each kernel's result is first compared with the reference bit for bit.
 * usage: bench_qdot_kquants [rows cols reps]   (default 16384 4096 20) */
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


/* read-sum over the bytes with nt threads: GB/s, best of reps */
static double read_bw(const void *p, size_t bytes, int nt, int reps) {
    const float *a = p;
    const size_t n = bytes / 4;
    double t[64], sink = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now(), s = 0;
        #pragma omp parallel for num_threads(nt) reduction(+ : s) schedule(static)
        for (size_t i = 0; i < n - 15; i += 16) s += a[i] + a[i + 4] + a[i + 8] + a[i + 12];
        t[r] = now() - t0;
        sink += s;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    if (sink == 12345.0) puts("");
    return (double)bytes / t[0] / 1e9;
}

static void gemv(lq_qdot_rows_fn fn, float *y, const void *W, size_t row_bytes, const void *xq, int n, int rows,
                 int nt) {
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int c = 0; c < rows / 16; c++) fn(y, W, row_bytes, xq, n, 16 * c, 16 * c + 16);
}

/* best seconds of one GEMV over reps samples of inner runs each */
static double time_gemv(lq_qdot_rows_fn fn, float *y, const void *W, size_t row_bytes, const void *xq, int n,
                        int rows, int nt, int reps, int inner) {
    double t[64];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int i = 0; i < inner; i++) gemv(fn, y, W, row_bytes, xq, n, rows, nt);
        t[r] = (now() - t0) / inner;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return t[0]; /* fastest: the machine is shared, other load only slows */
}

typedef struct {
    const char *name;
    uint32_t type;
    size_t block_bytes;
    void (*quantize)(const float *x, void *y, int64_t n);
} kq_type;

static const kq_type TYPES[] = {
    {"q2_k", LQ_TYPE_Q2_K, sizeof(block_q2_K), lq_quant_q2_k_ref},
    {"q3_k", LQ_TYPE_Q3_K, sizeof(block_q3_K), lq_quant_q3_k_ref},
    {"q4_k", LQ_TYPE_Q4_K, sizeof(block_q4_K), lq_quant_q4_k_ref},
    {"q5_k", LQ_TYPE_Q5_K, sizeof(block_q5_K), lq_quant_q5_k_ref},
    {"q6_k", LQ_TYPE_Q6_K, sizeof(block_q6_K), lq_quant_q6_k_ref},
};
static const char *ISA_NAME[3] = {"ref", "avx2", "avx512"};

int main(int argc, char **argv) {
    const int rows = argc > 1 ? atoi(argv[1]) : 16384, cols = argc > 2 ? atoi(argv[2]) : 4096;
    const int reps = argc > 3 ? atoi(argv[3]) : 20;
    const int small_rows = 128; /* cache-resident matrix */
    if (rows < small_rows || rows % 16 || cols <= 0 || cols % QK_K || reps <= 0 || reps > 64)
        return fprintf(stderr, "bad arguments (rows a multiple of 16, >= 128; cols of 256)\n"), 2;
    const lq_cpu_features *f = lq_cpu();
    const int isa_ok[3] = {1, f->avx2 && f->fma && f->f16c,
                           f->avx512f && f->avx512bw && f->avx512vl && f->avx512vnni};
    enum { TILE = 256 }; /* quantize this many rows, repeat them to fill the matrix */
    float *wf = malloc((size_t)TILE * cols * sizeof *wf), *xf = malloc((size_t)cols * sizeof *xf);
    unsigned s = 12345;
    for (size_t i = 0; i < (size_t)TILE * cols; i++) {
        s = s * 1103515245u + 12345u;
        wf[i] = (float)((s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
    }
    for (int i = 0; i < cols; i++) xf[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    block_q8_K *xq = malloc((size_t)cols / QK_K * sizeof *xq);
    lq_quant_q8_k_ref(xf, xq, cols);
    float *y = malloc((size_t)rows * sizeof *y), *yref = malloc((size_t)rows * sizeof *yref);
    printf("K-quant GEMV %d x %d, GB/s of weight bytes (best of %d; ref of 3)\n", rows, cols, reps);
    for (size_t ti = 0; ti < sizeof TYPES / sizeof TYPES[0]; ti++) {
        const kq_type *t = &TYPES[ti];
        const size_t row_bytes = (size_t)cols / QK_K * t->block_bytes, bytes = row_bytes * rows;
        uint8_t *W = aligned_alloc(64, (bytes + 63) / 64 * 64);
        const int tile = rows < TILE ? rows : TILE; /* rows may be as few as 128 */
        for (int r = 0; r < tile; r++) t->quantize(wf + (size_t)r * cols, W + (size_t)r * row_bytes, cols);
        for (int r = tile; r < rows; r++) memcpy(W + (size_t)r * row_bytes, W + (size_t)(r % TILE) * row_bytes, row_bytes);
        gemv(lq_qdot_kquants_lookup(t->type, 0)->rows, yref, W, row_bytes, xq, cols, rows, 2);
        printf("%s (%.1f MB; cache-resident %d rows %.0f KB):\n", t->name, bytes / 1e6, small_rows,
               row_bytes * small_rows / 1e3);
        for (int isa = 0; isa < 3; isa++) {
            if (!isa_ok[isa]) continue;
            const lq_qdot_info *info = lq_qdot_kquants_lookup(t->type, isa);
            lq_qdot_rows_fn fn = info->rows;
            uint8_t *Wk = W; /* recoded rows for a kernel that reads them */
            if (info->planar) Wk = lq_planar_packed(info->planar, W, row_bytes, rows);
            gemv(fn, y, Wk, row_bytes, xq, cols, rows, 2);
            if (memcmp(y, yref, (size_t)rows * sizeof *y))
                return fprintf(stderr, "%s %s differs from ref\n", t->name, ISA_NAME[isa]), 1;
            const int nrep = isa ? reps : 3;
            printf("  %-6s", ISA_NAME[isa]);
            for (int nt = 1; nt <= 2; nt++) {
                const double sec = time_gemv(fn, y, Wk, row_bytes, xq, cols, rows, nt, nrep, 1);
                printf("  %dt %6.1f GB/s", nt, bytes / sec / 1e9);
            }
            const double small = time_gemv(fn, y, Wk, row_bytes, xq, cols, small_rows, 1, nrep, isa ? 200 : 5);
            printf("  | cached 1t %6.1f GB/s\n", row_bytes * small_rows / small / 1e9);
            if (Wk != W) lq_free_aligned(Wk);
        }
        printf("  read bandwidth 1t %.1f GB/s, 2t %.1f GB/s\n", read_bw(W, bytes, 1, reps), read_bw(W, bytes, 2, reps));
        free(W);
    }
    free(wf), free(xf), free(xq), free(y), free(yref);
    return 0;
}
