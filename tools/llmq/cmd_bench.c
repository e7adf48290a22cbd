/* llmq bench: format throughput beside this machine's read bandwidth, and
 * model tokens per second. */
#include "cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: llmq bench embed MODEL [--batch 1,8] [--tokens 128] [-t 1,2] [--reps N]\n"
    "       llmq bench [--types T1,T2,...] [-t THREADS] [--reps N] [--rows R --cols C]\n"
    "                  [--bw-mib N] [--model MODEL [--pp N] [--tg N] [--kv-type f32|f16|q8]]\n"
    "                  [--no-formats]\n"
    "Per weight format: quantize, dequantize and GEMV throughput on a matrix read\n"
    "from memory (R x C, default 16384 x 4096; a 256 MiB read before each GEMV\n"
    "evicts it from the caches) and on one that stays in cache (1024 x 4096, back\n"
    "to back), with 1 and 2 threads (or -t), in G weights/s and GB/s, beside\n"
    "the read bandwidth measured just before each figure (a read-sum over --bw-mib\n"
    "MiB, default 1024). --model adds prompt processing (--pp tokens, default 512)\n"
    "and generation (--tg tokens, default 128) speed, with the KV cache in\n"
    "--kv-type (default f32). Figures are medians of --reps\n"
    "runs (default 10); every GEMV is checked against a double-precision product\n"
    "of the dequantized weights first.\n"
    "bench embed: sentences/s of an encoder on batches of --tokens-token sequences\n"
    "(a fixed English text), for each batch size and thread count given, median of\n"
    "--reps runs (default 10); W8A8 files also report the outlier columns routed\n"
    "to float.\n";

static const char *const default_types[] = {"F32", "F16", "BF16", "Q8_0", "Q6_K", "Q5_K", "Q5_1", "Q5_0",
                                            "Q4_K", "Q4_1", "Q4_0", "IQ4_NL", "Q3_K", "Q2_K", NULL};

typedef struct bench_opts {
    const char *types, *model;
    long threads, reps, rows, cols, pp, tg, bw_mib;
    bool formats;
    llmq_kv_type kv_type;
} bench_opts;

static int parse(int argc, char **argv, bench_opts *o) {
    *o = (bench_opts){NULL, NULL, 0, 10, 16384, 4096, 512, 128, 1024, true, LLMQ_KV_F32};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) return fputs(help, stdout), -1;
        if (!strcmp(a, "--no-formats")) { o->formats = false; continue; }
        bool known = !strcmp(a, "--types") || !strcmp(a, "-t") || !strcmp(a, "--reps") || !strcmp(a, "--rows") ||
                     !strcmp(a, "--cols") || !strcmp(a, "--model") || !strcmp(a, "--pp") || !strcmp(a, "--tg") ||
                     !strcmp(a, "--bw-mib") || !strcmp(a, "--kv-type");
        if (!known) return cli_error("bench", CLI_USAGE, "unknown argument '%s' (see llmq bench --help)", a);
        if (!(v = cli_value("bench", argc, argv, &i))) return CLI_USAGE;
        bool ok = true;
        if (!strcmp(a, "--types")) o->types = v;
        else if (!strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "--kv-type")) ok = cli_kv_type("bench", v, &o->kv_type);
        else if (!strcmp(a, "-t")) ok = cli_int("bench", a, v, 1, 1024, &o->threads);
        else if (!strcmp(a, "--reps")) ok = cli_int("bench", a, v, 1, 64, &o->reps);
        else if (!strcmp(a, "--rows")) ok = cli_int("bench", a, v, 1, 1 << 20, &o->rows);
        else if (!strcmp(a, "--cols")) ok = cli_int("bench", a, v, 1, 1 << 20, &o->cols);
        else if (!strcmp(a, "--pp")) ok = cli_int("bench", a, v, 1, 1 << 16, &o->pp);
        else if (!strcmp(a, "--bw-mib")) ok = cli_int("bench", a, v, 1, 1 << 16, &o->bw_mib);
        else ok = cli_int("bench", a, v, 0, 1 << 16, &o->tg);
        if (!ok) return CLI_USAGE;
    }
    return 0;
}

/* thread counts to run: -t alone, else 1 and 2 */
static void thread_range(const bench_opts *o, int *lo, int *hi) {
    *lo = o->threads ? (int)o->threads : 1;
    *hi = o->threads ? (int)o->threads : 2;
}

static int bench_formats(const bench_opts *o) {
    char *list = o->types ? strdup(o->types) : NULL;
    const char *types[64];
    int nt = 0;
    if (list)
        for (char *s = strtok(list, ","); s && nt < 63; s = strtok(NULL, ",")) types[nt++] = s;
    else
        for (; default_types[nt]; nt++) types[nt] = default_types[nt];
    int t_lo, t_hi;
    thread_range(o, &t_lo, &t_hi);
    /* the large matrix timed cold (evicted before each GEMV, as in a model);
     * the cached one back to back */
    struct { long rows, cols; const char *label; bool cold; } sizes[] = {{o->rows, o->cols, "large", true},
                                                                         {1024, 4096, "cached", false}};
    int rc = CLI_OK;
    printf("isa %s, median of %ld runs (quantize: one run)\n", llmq_isa_name(), o->reps);
    for (int th = t_lo; th <= t_hi; th++) {
        printf("\n%d thread(s); read BW: %ld MiB read-sum measured just before each row\n", th, o->bw_mib);
        printf("%-12s %-6s %5s %10s %9s %9s %9s %7s %5s\n", "type", "matrix", "bpw", "quant Gw/s", "deq Gw/s",
               "gemv Gw/s", "gemv GB/s", "read BW", "%bw");
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (int i = 0; i < nt; i++) {
                llmq_bench_format_result r;
                llmq_error err;
                /* machines here are shared: the bandwidth of the moment, next to the figure it judges */
                double bw = llmq_bench_read_bw((size_t)o->bw_mib << 20, th, (int)o->reps);
                if (llmq_bench_format(types[i], (int)sizes[s].rows, (int)sizes[s].cols, th, (int)o->reps, sizes[s].cold,
                                      &r, &err) != LLMQ_OK) {
                    rc = cli_fail("bench", &err);
                    continue;
                }
                printf("%-12s %-6s %5.2f %10.3f %9.2f %9.2f %9.1f %7.1f %4.0f%%%s\n", types[i], sizes[s].label,
                       r.bits_per_weight, r.quantize_gws, r.dequantize_gws, r.gemv_gws, r.gemv_gbs, bw,
                       100 * r.gemv_gbs / bw, r.gemv_native ? "" : "  (no kernel: F32)");
                fflush(stdout);
            }
    }
    free(list);
    return rc;
}

/* prompt of pp tokens (ids cycled from the vocabulary) then tg generated by
 * feeding back the argmax; tokens/s of each phase */
static int bench_model(const bench_opts *o) {
    int rc = CLI_OK, t_lo, t_hi;
    thread_range(o, &t_lo, &t_hi);
    for (int th = t_lo; th <= t_hi && rc == CLI_OK; th++) {
        llmq_model *m = cli_open_kv("bench", o->model, NULL, th, (int)(o->pp + o->tg + 1), o->kv_type);
        if (!m) return CLI_FAIL;
        int nv = llmq_n_vocab(m);
        int32_t *toks = malloc((size_t)o->pp * sizeof *toks);
        float *logits = malloc((size_t)nv * sizeof *logits);
        llmq_error err;
        if (!toks || !logits) rc = cli_error("bench", CLI_FAIL, "out of memory");
        for (long i = 0; rc == CLI_OK && i < o->pp; i++) toks[i] = (int32_t)((i * 7919 + 13) % nv);
        double t0 = cli_now();
        if (rc == CLI_OK && llmq_decode(m, toks, (int)o->pp, 0, logits, 1, &err) != LLMQ_OK) rc = cli_fail("bench", &err);
        double t_pp = cli_now() - t0;
        t0 = cli_now();
        for (long i = 0; rc == CLI_OK && i < o->tg; i++) {
            int32_t best = 0;
            for (int v = 1; v < nv; v++) best = logits[v] > logits[best] ? v : best;
            if (llmq_decode(m, &best, 1, (int)(o->pp + i), logits, 1, &err) != LLMQ_OK) rc = cli_fail("bench", &err);
        }
        double t_tg = cli_now() - t0;
        if (rc == CLI_OK)
            printf("model %s, %d thread(s), kv %s: prompt %ld tokens %.1f tok/s, generation %ld tokens %.1f tok/s\n",
                   o->model, th, (const char *[]){"f32", "f16", "q8"}[o->kv_type], o->pp, o->pp / t_pp, o->tg, o->tg ? o->tg / t_tg : 0.0);
        free(toks);
        free(logits);
        llmq_model_free(m);
    }
    return rc;
}

/* "1,8" -> {1, 8}; false on a value outside [lo, hi] */
static bool int_list(const char *flag, const char *v, long lo, long hi, long *out, int *n) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    *n = 0;
    for (char *s = strtok(buf, ","); s; s = strtok(NULL, ",")) {
        if (*n == 16 || !cli_int("bench", flag, s, lo, hi, &out[*n])) return false;
        (*n)++;
    }
    if (*n == 0) cli_error("bench", CLI_USAGE, "%s needs a value", flag);
    return *n > 0;
}

static int bench_embed(int argc, char **argv) {
    const char *model = NULL;
    long batch[16] = {1, 8}, threads[16] = {1, 2}, tokens = 128, reps = 10;
    int n_batch = 2, n_threads = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) return fputs(help, stdout), CLI_OK;
        if (a[0] != '-' && !model) { model = a; continue; }
        bool known = !strcmp(a, "--batch") || !strcmp(a, "-t") || !strcmp(a, "--tokens") || !strcmp(a, "--reps");
        if (!known) return cli_error("bench", CLI_USAGE, "unknown argument '%s' (see llmq bench --help)", a);
        if (!(v = cli_value("bench", argc, argv, &i))) return CLI_USAGE;
        bool ok;
        if (!strcmp(a, "--batch")) ok = int_list(a, v, 1, 4096, batch, &n_batch);
        else if (!strcmp(a, "-t")) ok = int_list(a, v, 1, 1024, threads, &n_threads);
        else if (!strcmp(a, "--tokens")) ok = cli_int("bench", a, v, 2, 1 << 16, &tokens);
        else ok = cli_int("bench", a, v, 1, 64, &reps);
        if (!ok) return CLI_USAGE;
    }
    if (!model) return cli_error("bench", CLI_USAGE, "bench embed: no MODEL given");
    llmq_model *m = cli_open("bench", model, NULL, 0, 0);
    if (!m) return CLI_FAIL;
    int rc = CLI_OK;
    printf("model %s, %ld tokens per sequence, median of %ld runs\n", model, tokens, reps);
    printf("%6s %8s %12s %12s\n", "batch", "threads", "ms/batch", "sentences/s");
    for (int ti = 0; ti < n_threads && rc == CLI_OK; ti++)
        for (int bi = 0; bi < n_batch && rc == CLI_OK; bi++) {
            double sec;
            llmq_error err;
            if (llmq_bench_embed(m, (int)batch[bi], (int)tokens, (int)threads[ti], (int)reps, &sec, &err) != LLMQ_OK) {
                rc = cli_fail("bench", &err);
                break;
            }
            printf("%6ld %8ld %12.2f %12.2f\n", batch[bi], threads[ti], 1e3 * sec, batch[bi] / sec);
            fflush(stdout);
        }
    uint64_t routed, seen;
    if (rc == CLI_OK && llmq_embed_w8a8_stats(m, &routed, &seen))
        printf("W8A8: %.4f%% of input columns routed to float (%llu of %llu)\n", seen ? 100.0 * routed / seen : 0.0,
               (unsigned long long)routed, (unsigned long long)seen);
    llmq_model_free(m);
    return rc;
}

int cmd_bench(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "embed")) return bench_embed(argc - 1, argv + 1);
    bench_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (o.formats) rc = bench_formats(&o);
    if (o.model && rc == CLI_OK) rc = bench_model(&o);
    return rc;
}
