/* Minimal test harness: CHECK records a failure and goes on; each test
 * program ends with TEST_END, which prints "N passed, N failed" and returns
 * non-zero if anything failed. */
#ifndef LLMQ_TEST_H
#define LLMQ_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_pass_, test_fail_;

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (cond) test_pass_++;                                                   \
        else {                                                                    \
            test_fail_++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                         \
    } while (0)

#define CHECK_MSG(cond, ...)                                                      \
    do {                                                                          \
        if (cond) test_pass_++;                                                   \
        else {                                                                    \
            test_fail_++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                  \
        }                                                                         \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                        \
    do {                                                                          \
        long long a_ = (long long)(a), b_ = (long long)(b);                       \
        CHECK_MSG(a_ == b_, "%lld != %lld", a_, b_);                              \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                     \
    do {                                                                          \
        double a_ = (double)(a), b_ = (double)(b);                                \
        CHECK_MSG(fabs(a_ - b_) <= (tol), "%.9g vs %.9g (tol %g)", a_, b_, (double)(tol)); \
    } while (0)

#define TEST_END()                                                                \
    do {                                                                          \
        printf("%d passed, %d failed\n", test_pass_, test_fail_);                 \
        return test_fail_ ? 1 : 0;                                                \
    } while (0)

/* One malformed-model case: the test file defines `knobs`, `defaults()` and
 * `open_with(const knobs *, const char *path)` (which builds a file from the
 * knobs and opens it); the statements in ... change the knobs first. */
#define MODEL_CASE(desc, want, ...)                                                       \
    do {                                                                              \
        knobs k = defaults();                                                         \
        __VA_ARGS__;                                                                  \
        printf("case: %s\n", desc);                                                   \
        llmq_status got = open_with(&k, path);                                        \
        CHECK_MSG(got == (want), "%s: got %s, want %s", desc, llmq_status_str(got), llmq_status_str(want)); \
    } while (0)

/* Reads up to cap bytes of a small file; returns the count (0 on failure). */
static inline size_t test_read_all(const char *path, void *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t got = fread(buf, 1, cap, f);
    fclose(f);
    return got;
}

/* Index of the first differing byte, or -1. */
static inline long test_first_diff(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) return (long)i;
    return -1;
}

/* Path of a file in the source tree (tests run from the source root). */
#define TEST_PATH(rel) (LLMQ_SOURCE_DIR "/" rel)
#define SHARED_PATH(rel) (LLMQ_SOURCE_DIR "/../shared/" rel)

#endif
