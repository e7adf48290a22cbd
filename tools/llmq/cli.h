/* Shared helpers of the llmq subcommands (public API only). */
#ifndef LLMQ_CLI_H
#define LLMQ_CLI_H

#include "llmq/llmq.h"

#include <stdbool.h>

/* Exit codes: 0 success, 1 the work failed, 2 the command line is wrong. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

int cmd_inspect(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_imatrix(int argc, char **argv);

/* Prints "llmq CMD: message" on stderr; returns code. */
int cli_error(const char *cmd, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reports a failed library call as one line; returns CLI_FAIL. */
int cli_fail(const char *cmd, const llmq_error *err);

/* Value-taking option at argv[*i]: returns its value and advances *i, or NULL
 * (after printing an error) if the value is missing. */
const char *cli_value(const char *cmd, int argc, char **argv, int *i);
/* Parses an integer / float in [lo, hi]; false (after an error line) if bad. */
bool cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
bool cli_float(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);
bool cli_is_help(const char *arg);

/* Seconds from a monotonic clock. */
double cli_now(void);
/* "[done/total] label  Ns elapsed, ETA Ns" rewritten in place on stderr
 * (call it only when stderr is a terminal); ends the line when done == total. */
void cli_progress(double t0, int done, int total, const char *label);

/* Opens a model; prints the error line on failure. */
llmq_model *cli_open(const char *cmd, const char *path, const char *tokenizer, int threads, int max_ctx);
/* The same with a KV cache type (decoders). */
llmq_model *cli_open_kv(const char *cmd, const char *path, const char *tokenizer, int threads, int max_ctx,
                        llmq_kv_type kv_type);
/* --kv-type value: f32, f16 or q8; false (after an error line) otherwise. */
bool cli_kv_type(const char *cmd, const char *s, llmq_kv_type *out);

#endif
