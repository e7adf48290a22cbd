/* Core cost of each GEMV kernel, apart from memory: one thread runs the
 * kernel the library chose (LLMQ_ISA to force one) over a matrix that sits
 * in L1 and one that sits in L2, many times; the fastest pass, in TSC
 * cycles per 32 weights, is the kernel's work when nothing else on this
 * shared machine gets in the way (a minimum filters the noise a median of
 * wall times keeps). From it, the most bytes per second one core can
 * stream through the kernel ("ceiling"): a format whose ceiling at N
 * threads is below N-thread read bandwidth is core-bound there.
 * usage: bench_qdot_cycles [TYPES] [COLS] (all types with a kernel, 4096) */
#include "core/lq.h"
#include "llmq/llmq.h"
#include "kernels/planar.h"
#include "kernels/qdot.h"
#include "quant/types.h"
#include "quant/types_llmq.h"

#include "bench_util.h"

#include <x86intrin.h>

/* TSC ticks per second, against the monotonic clock over 200 ms */
static double tsc_hz(void) {
    const double t0 = now();
    const uint64_t c0 = __rdtsc();
    while (now() - t0 < 0.2) {
    }
    return (double)(__rdtsc() - c0) / (now() - t0);
}

/* fastest of reps passes over rows rows, TSC ticks */
static uint64_t fastest(const lq_qdot_info *k, float *y, const void *W, size_t rb, const void *x, int n, int rows,
                        int reps) {
    uint64_t best = UINT64_MAX;
    for (int r = 0; r < reps; r++) {
        const uint64_t c0 = __rdtsc();
        k->rows(y, W, rb, x, n, 0, rows);
        const uint64_t c = __rdtsc() - c0;
        if (c < best) best = c;
    }
    return best;
}

int main(int argc, char **argv) {
    const char *types = argc > 1 && strcmp(argv[1], "all") ? argv[1] : NULL;
    const int n = argc > 2 ? atoi(argv[2]) : 4096;
    if (n < 256 || n % 256 || n > 65536) {
        fprintf(stderr, "bench_qdot_cycles: COLS must be a multiple of 256 in [256, 65536]\n");
        return 2;
    }
    const double hz = tsc_hz();
    const int max_rows = 512;
    float *src = malloc((size_t)max_rows * n * 4), *xf = malloc((size_t)n * 4), *y = malloc(max_rows * 4);
    if (!src || !xf || !y) return 1;
    srand(1);
    for (size_t i = 0; i < (size_t)max_rows * n; i++)
        src[i] = ((float)rand() / (float)RAND_MAX - 0.5f) * (i % 97 == 0 ? 8.0f : 1.0f);
    for (int i = 0; i < n; i++) xf[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    printf("isa %s, 1 thread, %d columns, TSC %.2f GHz; fastest of many passes\n", llmq_isa_name(), n, hz / 1e9);
    printf("%-13s %6s %6s | %10s %12s | %10s %12s\n", "type", "bpw", "rowKB", "L1 cyc/32", "ceiling GB/s",
           "L2 cyc/32", "ceiling GB/s");
    for (uint32_t t = 0; t < LQ_TYPE_LLMQ_END; t++) {
        const lq_type_traits *tr = lq_type_get(t);
        const lq_qdot_info *k = tr && tr->name ? lq_qdot_get(t) : NULL;
        if (!k || !lq_row_size(t, n) || (types && !has_name(types, tr->name))) continue;
        const size_t rb = lq_row_size(t, n);
        /* L1: the rows that fill 16 KiB (at least 1); L2: 256 KiB */
        const int rows_l1 = rb >= 16384 ? 1 : (int)(16384 / rb), rows_l2 = (int)(262144 / rb) < max_rows ? (int)(262144 / rb) : max_rows;
        const size_t xbytes = k->act_type == LQ_TYPE_F32 ? (size_t)n * 4 : lq_row_size(k->act_type, n);
        uint8_t *W = malloc(rb * rows_l2), *xq = malloc(xbytes);
        if (!W || !xq) return 1;
        for (int r = 0; r < rows_l2; r++) {
            const float *sr = src + (size_t)r * n;
            uint16_t *h = (uint16_t *)(W + rb * r);
            if (t == LQ_TYPE_F16) for (int i = 0; i < n; i++) h[i] = lq_fp32_to_fp16(sr[i]);
            else if (t == LQ_TYPE_BF16) for (int i = 0; i < n; i++) h[i] = lq_fp32_to_bf16(sr[i]);
            else tr->from_float_ref(sr, W + rb * r, n);
        }
        if (k->act_type == LQ_TYPE_F32) memcpy(xq, xf, (size_t)n * 4);
        else lq_type_get(k->act_type)->from_float_ref(xf, xq, n);
        uint8_t *Wk = k->planar ? lq_planar_packed(k->planar, W, rb, rows_l2) : W;
        const double bpw = 8.0 * (double)rb / n;
        double cyc[2];
        const int rows[2] = {rows_l1, rows_l2};
        for (int s = 0; s < 2; s++) {
            const int reps = (int)(2e8 / ((double)rows[s] * n)) + 20; /* about 0.2 G weights per size */
            /* L1: rows_l2 passes over the same rows (row stride 0) when BENCH_SAME_ROW is set */
            const int same = s == 0 && getenv("BENCH_SAME_ROW");
            const int rr = same ? rows_l2 : rows[s];
            cyc[s] = (double)fastest(k, y, Wk, same ? 0 : rb, xq, n, rr, reps) / ((double)rr * n / 32);
        }
        printf("%-13s %6.2f %6.2f | %10.2f %12.1f | %10.2f %12.1f\n", tr->name, bpw, rb / 1024.0, cyc[0],
               bpw * 4 / cyc[0] * hz / 1e9, cyc[1], bpw * 4 / cyc[1] * hz / 1e9);
        fflush(stdout);
        if (Wk != W) lq_free_aligned(Wk);
        free(W), free(xq);
    }
    free(src), free(xf), free(y);
    return 0;
}
