#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_error(const char *cmd, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "llmq %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int cli_fail(const char *cmd, const llmq_error *err) {
    return cli_error(cmd, CLI_FAIL, "%s (%s)", err->msg[0] ? err->msg : "failed", llmq_status_str(err->status));
}

const char *cli_value(const char *cmd, int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        cli_error(cmd, CLI_USAGE, "option '%s' needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

bool cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_error(cmd, CLI_USAGE, "%s: '%s' is not an integer in [%ld, %ld]", opt, s, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

bool cli_float(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        cli_error(cmd, CLI_USAGE, "%s: '%s' is not a number in [%g, %g]", opt, s, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

bool cli_is_help(const char *arg) { return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0; }

bool cli_kv_type(const char *cmd, const char *s, llmq_kv_type *out) {
    static const struct { const char *name; llmq_kv_type type; } names[] = {
        {"f32", LLMQ_KV_F32}, {"f16", LLMQ_KV_F16}, {"q8", LLMQ_KV_Q8}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) return *out = names[i].type, true;
    cli_error(cmd, CLI_USAGE, "--kv-type: '%s' is not one of f32, f16, q8", s);
    return false;
}

llmq_model *cli_open(const char *cmd, const char *path, const char *tokenizer, int threads, int max_ctx) {
    return cli_open_kv(cmd, path, tokenizer, threads, max_ctx, LLMQ_KV_F32);
}

llmq_model *cli_open_kv(const char *cmd, const char *path, const char *tokenizer, int threads, int max_ctx,
                        llmq_kv_type kv_type) {
    llmq_model_params p = llmq_model_default_params();
    p.tokenizer_path = tokenizer;
    p.n_threads = threads;
    p.max_ctx = max_ctx;
    p.kv_type = kv_type;
    llmq_model *m = NULL;
    llmq_error err = {0};
    if (llmq_model_open(path, &p, &m, &err) != LLMQ_OK) {
        cli_fail(cmd, &err);
        return NULL;
    }
    return m;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress(double t0, int done, int total, const char *label) {
    double el = cli_now() - t0, eta = done > 0 ? el / done * (total - done) : 0.0;
    fprintf(stderr, "\r[%d/%d] %-32s %.0fs elapsed, ETA %.0fs   ", done, total, label, el, eta);
    if (done == total) fputc('\n', stderr);
}
