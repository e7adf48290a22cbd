/* Clock, sorting and argument helpers shared by the benchmark programs. */
#ifndef LLMQ_BENCH_UTIL_H
#define LLMQ_BENCH_UTIL_H

#include "eval/read_sum.h"

#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* name is one of the comma-separated entries of list (NULL: none) */
static inline int has_name(const char *list, const char *name) {
    const size_t len = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        const size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == len && strncmp(p, name, len) == 0) return 1;
        p += l + (e != NULL);
    }
    return 0;
}

static inline double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* qsort comparator for doubles (medians) */
static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* read bandwidth in GB/s: nt threads read every byte of the n bytes at p
 * (eval/read_sum.h), median of reps (at most 64) passes */
static inline double bench_read_bw(const void *p, size_t n, int nt, int reps) {
    double t[64];
    uint64_t sink = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        sink += lq_read_sum(p, n, nt); /* every byte (eval/read_sum.h) */
        t[r] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    if (sink == 12345) puts("");
    return (double)(n / 128 * 128) / t[reps / 2] / 1e9;
}

/* median of n doubles (sorts v) */
static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* One GEMV as the model runs it: nt threads, one kernel call each over
 * its share of the rows in chunks of 32 (as lq_qgemv_team). The kernel's
 * type is lq_qdot_rows_fn (kernels/qdot.h). */
static inline void bench_gemv_team(void (*f)(float *, const void *, size_t, const void *, int, int, int), float *y,
                                   const void *W, size_t rb, const void *x, int n, int rows, int nt) {
    #pragma omp parallel num_threads(nt)
    {
        const int chunks = (rows + 31) / 32, th = omp_get_num_threads(), id = omp_get_thread_num();
        const int c0 = id * (chunks / th) + (id < chunks % th ? id : chunks % th);
        const int c1 = c0 + chunks / th + (id < chunks % th), r1 = 32 * c1 < rows ? 32 * c1 : rows;
        if (c0 < c1) f(y, W, rb, x, n, 32 * c0, r1);
    }
}

#endif
