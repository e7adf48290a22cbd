#include "core/lq.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *llmq_status_str(llmq_status st) {
    switch (st) {
    case LLMQ_OK: return "ok";
    case LLMQ_ERR_IO: return "I/O error";
    case LLMQ_ERR_FORMAT: return "format error";
    case LLMQ_ERR_BOUNDS: return "out of bounds";
    case LLMQ_ERR_OVERFLOW: return "size overflow";
    case LLMQ_ERR_UNSUPPORTED: return "unsupported";
    case LLMQ_ERR_NOMEM: return "out of memory";
    case LLMQ_ERR_ARG: return "bad argument";
    case LLMQ_ERR_MAGIC: return "bad magic";
    case LLMQ_ERR_VERSION: return "bad version";
    case LLMQ_ERR_DUPLICATE: return "duplicate";
    case LLMQ_ERR_ALIGN: return "bad alignment";
    case LLMQ_ERR_MISSING: return "missing";
    case LLMQ_ERR_SHAPE: return "bad shape";
    case LLMQ_ERR_TYPE: return "bad type";
    case LLMQ_ERR_JSON: return "bad JSON";
    case LLMQ_ERR_OVERLAP: return "overlapping data";
    }
    return "unknown status";
}

llmq_status lq_fail(lq_err *e, llmq_status st, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->status = st;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return st;
}

void *lq_malloc_array(size_t n, size_t size) {
    size_t bytes;
    if (!lq_mul_ok(n, size, &bytes)) return NULL;
    return malloc(bytes ? bytes : 1);
}

void *lq_calloc_array(size_t n, size_t size) {
    size_t bytes;
    if (!lq_mul_ok(n, size, &bytes)) return NULL;
    return calloc(bytes ? n : 1, bytes ? size : 1);
}

void *lq_alloc_aligned(size_t bytes) {
    void *p = NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes) return NULL;
    if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0) return NULL;
    return p;
}

void lq_free_aligned(void *p) { free(p); }

char *lq_strndup(const char *s, size_t n) {
    char *r = malloc(n + 1);
    if (!r) return NULL;
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

double lq_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int lq_n_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}
