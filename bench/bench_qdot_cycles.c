/* Core cost of each GEMV kernel, apart from memory: one thread runs the
 * kernel the library chose (LLMQ_ISA to force one) over a matrix that sits
 * in L1 (one row, read over and over) and one that sits in L2, many times; the fastest pass, in TSC
 * cycles per 32 weights, is the kernel's work when nothing else on this
 * shared machine gets in the way (a minimum filters the noise a median of
 * wall times keeps). From it, the most bytes per second one core can
 * stream through the kernel ("ceiling"): a format whose ceiling at N
 * threads is below N-thread read bandwidth is core-bound there.
 * usage: bench_qdot_cycles [TYPES|all] [COLS] [ROUNDS] (all types with a
 * kernel, 4096, 20) */
#include "algo/rtn.h"
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

/* one type's matrix and activations, ready to time */
typedef struct case_ {
    uint32_t t;
    const lq_qdot_info *k;
    size_t rb;
    int rows;
    uint8_t *W, *Wk, *xq;
    double cyc[2]; /* fastest TSC ticks per 32 weights: L1, L2 */
} case_;

static int prepare(case_ *c, uint32_t t, const lq_qdot_info *k, const float *src, const float *xf, int n, int max_rows) {
    c->t = t, c->k = k, c->rb = lq_row_size(t, n);
    /* L2: the rows that fill 256 KiB; L1: as many passes over the first
     * row (row stride 0), so that both amortize the per-call work alike */
    c->rows = (int)(262144 / c->rb) < max_rows ? (int)(262144 / c->rb) : max_rows;
    const size_t xbytes = k->act_type == LQ_TYPE_F32 ? (size_t)n * 4 : lq_row_size(k->act_type, n);
    c->W = malloc(c->rb * c->rows), c->xq = malloc(xbytes);
    if (!c->W || !c->xq) return -1;
    lq_err err = {0};
    if (lq_rtn_quantize(src, c->rows, n, t, c->W, 1, &err) != LLMQ_OK) return -1; /* as llmq quantize */
    lq_rtn_row_fn(k->act_type)(xf, c->xq, n);
    c->Wk = k->planar ? lq_planar_packed(k->planar, c->W, c->rb, c->rows) : c->W;
    c->cyc[0] = c->cyc[1] = 1e300;
    return c->Wk ? 0 : -1;
}

int main(int argc, char **argv) {
    const char *types = argc > 1 && strcmp(argv[1], "all") ? argv[1] : NULL;
    const int n = argc > 2 ? atoi(argv[2]) : 4096, rounds = argc > 3 ? atoi(argv[3]) : 20;
    if (n < 256 || n % 256 || n > 65536 || rounds < 1 || rounds > 100) {
        fprintf(stderr, "usage: bench_qdot_cycles [TYPES|all] [COLS (a multiple of 256, <= 65536)] [ROUNDS (1-100)]\n");
        return 2;
    }
    const double hz = tsc_hz();
    const int max_rows = 512;
    float *src = malloc((size_t)max_rows * n * 4), *xf = malloc((size_t)n * 4), *y = malloc(max_rows * 4);
    case_ *cases = calloc(LQ_TYPE_LLMQ_END, sizeof *cases);
    if (!src || !xf || !y || !cases) return 1;
    srand(1);
    for (size_t i = 0; i < (size_t)max_rows * n; i++)
        src[i] = ((float)rand() / (float)RAND_MAX - 0.5f) * (i % 97 == 0 ? 8.0f : 1.0f);
    for (int i = 0; i < n; i++) xf[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    int nc = 0;
    for (uint32_t t = 0; t < LQ_TYPE_LLMQ_END; t++) {
        const lq_type_traits *tr = lq_type_get(t);
        const lq_qdot_info *k = tr && tr->name ? lq_qdot_get(t) : NULL;
        if (!k || !lq_row_size(t, n) || (types && !has_name(types, tr->name))) continue;
        if (prepare(&cases[nc++], t, k, src, xf, n, max_rows)) return 1;
    }
    /* rounds over all types: on a shared machine a busy spell then hits
     * one round of every type, not every pass of one */
    for (int round = 0; round < rounds; round++)
        for (int i = 0; i < nc; i++) {
            case_ *c = &cases[i];
            const int reps = (int)(4e7 / ((double)c->rows * n)) + 4; /* about 40 M weights per size and round */
            for (int s = 0; s < 2; s++) {
                const double cyc = (double)fastest(c->k, y, c->Wk, s == 0 ? 0 : c->rb, c->xq, n, c->rows, reps) /
                                   ((double)c->rows * n / 32);
                if (cyc < c->cyc[s]) c->cyc[s] = cyc;
            }
        }
    printf("isa %s, 1 thread, %d columns, TSC %.2f GHz; fastest pass of %d rounds\n", llmq_isa_name(), n, hz / 1e9, rounds);
    printf("%-13s %6s %6s | %10s %12s | %10s %12s\n", "type", "bpw", "rowKB", "L1 cyc/32", "ceiling GB/s",
           "L2 cyc/32", "ceiling GB/s");
    for (int i = 0; i < nc; i++) {
        const case_ *c = &cases[i];
        const double bpw = 8.0 * (double)c->rb / n;
        printf("%-13s %6.2f %6.2f | %10.2f %12.1f | %10.2f %12.1f\n", lq_type_get(c->t)->name, bpw, c->rb / 1024.0,
               c->cyc[0], bpw * 4 / c->cyc[0] * hz / 1e9, c->cyc[1], bpw * 4 / c->cyc[1] * hz / 1e9);
        if (c->Wk != c->W) lq_free_aligned(c->Wk);
        free(c->W), free(c->xq);
    }
    free(cases), free(src), free(xf), free(y);
    return 0;
}
