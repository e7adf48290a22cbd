/* W8A8 GEMM / GEMV throughput against this machine's vpdpbusd peak,
 * measured in the same run (a register-only loop of independent
 * accumulators). Checks the product against the reference path first.
 * usage: bench_i8gemm [T N K reps]   (default 512 4096 4096 9; GEMV is 1 x N x K)
 * Prints medians and the best of reps (the best is the figure to trust when
 * other processes share the cores).
 * GOP/s counts 2 ops per multiply-add; a timed call includes the offset of
 * the activations to unsigned bytes, not their quantization. */
#include "core/cpu.h"
#include "kernels/i8mm.h"
#include "llmq/llmq.h"
#include "quant/types_llmq.h"

#include "bench_util.h"

#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PEAK_ACC = 24, MAX_REPS = 64 };

/* iters x PEAK_ACC vpdpbusd on zmm8..zmm31, independent chains, no memory
 * traffic (asm, so the compiler neither spills nor drops them) */
#define DP(r) "vpdpbusd %%zmm1, %%zmm0, %%zmm" #r "\n\t"
#define Z(r) "zmm" #r
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void peak_loop(long iters, int seed) {
    __asm__ volatile("vpbroadcastd %1, %%zmm0\n\t"
                     "vpbroadcastd %1, %%zmm1\n\t"
                     "1:\n\t"
                     DP(8) DP(9) DP(10) DP(11) DP(12) DP(13) DP(14) DP(15) DP(16) DP(17) DP(18) DP(19)
                     DP(20) DP(21) DP(22) DP(23) DP(24) DP(25) DP(26) DP(27) DP(28) DP(29) DP(30) DP(31)
                     "dec %0\n\t"
                     "jnz 1b\n\t"
                     : "+r"(iters)
                     : "r"(seed)
                     : "cc", Z(0), Z(1), Z(8), Z(9), Z(10), Z(11), Z(12), Z(13), Z(14), Z(15), Z(16), Z(17), Z(18),
                       Z(19), Z(20), Z(21), Z(22), Z(23), Z(24), Z(25), Z(26), Z(27), Z(28), Z(29), Z(30), Z(31));
}

/* CPU seconds of this process (all threads): unlike wall time, it does not
 * run while other processes hold the cores */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* wall and CPU seconds of one run of a timed step */
typedef struct span {
    double wall, cpu;
} span;

/* nt threads each running the peak loop (iters rounds) */
static span time_peak(int nt, long iters) {
    double t0 = now(), c0 = cpu_now();
    #pragma omp parallel num_threads(nt)
    peak_loop(iters, omp_get_thread_num());
    return (span){now() - t0, cpu_now() - c0};
}

/* read-sum over n bytes (a multiple of 64) with nt threads: GB/s, median of reps */
static double read_bw(const int8_t *p, size_t n, int nt, int reps) {
    double t[MAX_REPS];
    long sink = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        long s = 0;
        #pragma omp parallel for num_threads(nt) reduction(+ : s) schedule(static)
        for (size_t i = 0; i < n; i += 64) s += p[i] + p[i + 16] + p[i + 32] + p[i + 48];
        t[r] = now() - t0;
        sink += s;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    if (sink == 12345) puts("");
    return (double)n / t[reps / 2] / 1e9;
}

static span time_gemm(float *Y, const lq_i8_act *X, const lq_i8_packed *W, int nt) {
    double t0 = now(), c0 = cpu_now();
    lq_i8_gemm(Y, X, W, NULL, nt);
    return (span){now() - t0, cpu_now() - c0};
}

/* median and best (minimum) of n times, sorted in place */
static void med_best(double *t, int n, double *med, double *best) {
    qsort(t, (size_t)n, sizeof t[0], cmp_double);
    *med = t[n / 2];
    *best = t[0];
}

/* rows [t0, t0 + nr) of X as an activation view */
static lq_i8_act view(const lq_i8_act *X, int t0, int nr) {
    lq_i8_act v = *X;
    v.rows = nr;
    v.q = X->q + (size_t)t0 * X->kp;
    v.scale = X->scale + t0;
    return v;
}

/* rows 0..2 and the last 3 of Y against the reference path, bit for bit */
static bool check(const float *Y, const lq_i8_act *X, const lq_i8_packed *W) {
    const int N = W->rows, nr = X->rows < 3 ? X->rows : 3;
    float *yr = malloc((size_t)nr * N * sizeof *yr);
    bool ok = true;
    for (int part = 0; part < 2; part++) {
        const int t0 = part ? X->rows - nr : 0;
        lq_i8_act v = view(X, t0, nr);
        lq_i8_gemm_isa(0, yr, NULL, &v, W, NULL, 2);
        if (memcmp(yr, Y + (size_t)t0 * N, (size_t)nr * N * sizeof *yr) != 0) ok = false;
    }
    free(yr);
    return ok;
}

int main(int argc, char **argv) {
    const int T = argc > 1 ? atoi(argv[1]) : 512, N = argc > 2 ? atoi(argv[2]) : 4096;
    const int K = argc > 3 ? atoi(argv[3]) : 4096, reps = argc > 4 ? atoi(argv[4]) : 9;
    if (T <= 0 || N <= 0 || K <= 0 || K > LQ_I8_MAX_K || reps <= 0 || reps > MAX_REPS)
        return fprintf(stderr, "bad arguments\n"), 2;
    const lq_cpu_features *f = lq_cpu();
    const bool vnni = f->avx512f && f->avx512bw && f->avx512vnni;

    /* weights: random floats -> I8_CH rows -> packed */
    const size_t rb = 4 + (size_t)K;
    uint8_t *rows = malloc((size_t)N * rb);
    float *buf = malloc((size_t)(K > T ? K : T) * K * sizeof *buf);
    if (!rows || !buf) return fprintf(stderr, "out of memory\n"), 1;
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < K; k++) buf[k] = (float)((((size_t)n * K + k) * 2654435761u) % 2001) / 1000.0f - 1.0f;
        lq_quant_i8_ch_ref(buf, rows + n * rb, K);
    }
    lq_i8_packed *W = lq_i8_pack(rows, N, K);
    for (size_t i = 0; i < (size_t)T * K; i++) buf[i] = (float)((i * 40503u) % 1000) / 250.0f - 2.0f;
    lq_i8_act X;
    if (!W || !lq_i8_act_alloc(&X, T, K)) return fprintf(stderr, "out of memory\n"), 1;
    lq_i8_quant_dynamic(&X, buf);
    float *Y = malloc((size_t)T * N * sizeof *Y);

    lq_i8_act x1 = view(&X, 0, 1);
    if (!lq_i8_gemm(Y, &X, W, NULL, 2) || !check(Y, &X, W) || !lq_i8_gemm(Y, &x1, W, NULL, 2) || !check(Y, &x1, W))
        return fprintf(stderr, "result check failed\n"), 1;

    static const char *isa_names[3] = {"ref", "avx2", "avx512-vnni"};
    printf("W8A8 int8 GEMM, path %s, median of %d (GOP/s: 2 ops per multiply-add)\n", isa_names[lq_i8_isa()], reps);
    const double ops = 2.0 * T * (double)N * K, ops1 = 2.0 * N * (double)K;
    const long peak_iters = 1000000;
    const double peak_ops_per_thread = (double)peak_iters * PEAK_ACC * 64 * 2;
    for (int nt = 1; nt <= 2; nt++) {
        /* the peak loop, GEMM and GEMV timed in turn within each rep, so a
         * busy machine (other processes) weighs on all three alike */
        double tp[MAX_REPS], tg[MAX_REPS], tv[MAX_REPS], cp[MAX_REPS], cg[MAX_REPS];
        for (int r = 0; r < reps; r++) {
            span p = vnni ? time_peak(nt, peak_iters) : (span){1, 1}, g = time_gemm(Y, &X, W, nt);
            tp[r] = p.wall, cp[r] = p.cpu, tg[r] = g.wall, cg[r] = g.cpu;
            double v[5];
            for (int i = 0; i < 5; i++) v[i] = time_gemm(Y, &x1, W, nt).wall;
            qsort(v, 5, sizeof v[0], cmp_double);
            tv[r] = v[2];
        }
        double pm, pb, gm, gb, vm, vb, cpm, cpb, cgm, cgb;
        med_best(tp, reps, &pm, &pb);
        med_best(cp, reps, &cpm, &cpb);
        med_best(tg, reps, &gm, &gb);
        med_best(cg, reps, &cgm, &cgb);
        med_best(tv, reps, &vm, &vb);
        const double peak_med = nt * peak_ops_per_thread / pm / 1e9, peak_best = nt * peak_ops_per_thread / pb / 1e9;
        /* per CPU-second of each thread: ops / (cpu / nt) */
        const double peak_cpu = nt * peak_ops_per_thread / (cpm / nt) / 1e9, gemm_cpu = ops / (cgm / nt) / 1e9;
        const double bw = read_bw(W->w, (size_t)W->n_blocks * 16 * W->kp, nt, reps);
        if (vnni)
            printf("  %d thread(s): vpdpbusd peak %.1f GOP/s median, %.1f best, %.1f per thread CPU-second x %d\n", nt,
                   peak_med, peak_best, peak_cpu / nt, nt);
        printf("    GEMM %dx%dx%d: median %.2f ms, %.1f GOP/s (%.0f%% of median peak); best %.2f ms, %.1f GOP/s "
               "(%.0f%% of best peak); in CPU time %.0f%% of peak\n",
               T, N, K, gm * 1e3, ops / gm / 1e9, vnni ? 100 * ops / gm / 1e9 / peak_med : 0.0, gb * 1e3,
               ops / gb / 1e9, vnni ? 100 * ops / gb / 1e9 / peak_best : 0.0, vnni ? 100 * gemm_cpu / peak_cpu : 0.0);
        printf("    GEMV 1x%dx%d: median %.3f ms, %.1f GOP/s (%.1f%% of peak), weights %.1f GB/s; best %.3f ms, "
               "%.1f GB/s; read bandwidth %.1f GB/s\n",
               N, K, vm * 1e3, ops1 / vm / 1e9, vnni ? 100 * ops1 / vm / 1e9 / peak_med : 0.0,
               (double)N * K / vm / 1e9, vb * 1e3, (double)N * K / vb / 1e9, bw);
    }
    lq_i8_act_free(&X);
    lq_i8_pack_free(W);
    free(rows), free(buf), free(Y);
    return 0;
}
