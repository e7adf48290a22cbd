/* Internal essentials shared by every part of libllmq: error reporting,
 * checked size arithmetic, small helpers. */
#ifndef LQ_CORE_H
#define LQ_CORE_H

#include "llmq/llmq.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal code uses the public error struct directly. */
typedef llmq_error lq_err;

/* Records st and a printf-style message in e (e may be NULL); returns st. */
llmq_status lq_fail(lq_err *e, llmq_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Return early with an error when cond is false. */
#define LQ_CHECK(cond, e, st, ...)                                   \
    do {                                                             \
        if (!(cond)) return lq_fail((e), (st), __VA_ARGS__);         \
    } while (0)

/* Propagate a failing status. */
#define LQ_TRY(expr)                                                 \
    do {                                                             \
        llmq_status lq_try_st_ = (expr);                             \
        if (lq_try_st_ != LLMQ_OK) return lq_try_st_;                \
    } while (0)

/* Checked arithmetic: return false on overflow (result then undefined). */
static inline bool lq_mul_ok(size_t a, size_t b, size_t *r) { return !__builtin_mul_overflow(a, b, r); }
static inline bool lq_add_ok(size_t a, size_t b, size_t *r) { return !__builtin_add_overflow(a, b, r); }
static inline bool lq_mul_u64_ok(uint64_t a, uint64_t b, uint64_t *r) { return !__builtin_mul_overflow(a, b, r); }
static inline bool lq_add_u64_ok(uint64_t a, uint64_t b, uint64_t *r) { return !__builtin_add_overflow(a, b, r); }

/* malloc/calloc of n*size with overflow check; NULL on failure. */
void *lq_malloc_array(size_t n, size_t size);
void *lq_calloc_array(size_t n, size_t size);
/* 64-byte aligned allocation (free with lq_free_aligned); NULL on failure. */
void *lq_alloc_aligned(size_t bytes);
void lq_free_aligned(void *p);
/* strdup of the first n bytes plus NUL; NULL on failure. */
char *lq_strndup(const char *s, size_t n);

/* Seconds from a monotonic clock. */
double lq_now(void);

/* Number of online CPUs (>= 1). */
int lq_n_cpus(void);

#define LQ_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LQ_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
