/* llmq run MODEL -p PROMPT -n N: text generation. */
#include "cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help[] =
    "usage: llmq run MODEL -p PROMPT [-n N] [--temp T] [--top-p P] [--seed S]\n"
    "                [-t THREADS] [--tokenizer FILE] [--kv-type f32|f16|q8] [--print-tokens]\n"
    "Generates N tokens (default 64) after PROMPT and prints the text on stdout;\n"
    "prompt and generation speeds go to stderr. --temp 0 is greedy (default 0.8,\n"
    "top-p 0.9). --tokenizer names a llama2.c tokenizer.bin. --print-tokens also\n"
    "prints the generated token ids on stderr. --kv-type stores the KV cache as\n"
    "f32 (default), f16 or q8 (int8 with a scale per 32 values).\n";

typedef struct run_opts {
    const char *model, *prompt, *tokenizer;
    long n, threads, seed;
    double temp, top_p;
    bool print_tokens;
    llmq_kv_type kv_type;
} run_opts;

static int parse(int argc, char **argv, run_opts *o) {
    *o = (run_opts){NULL, "", NULL, 64, 0, -1, 0.8, 0.9, false, LLMQ_KV_F32};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) return fputs(help, stdout), -1;
        if (strcmp(a, "--print-tokens") == 0) { o->print_tokens = true; continue; }
        bool known = !strcmp(a, "-p") || !strcmp(a, "-n") || !strcmp(a, "--temp") || !strcmp(a, "--top-p") ||
                     !strcmp(a, "--seed") || !strcmp(a, "-t") || !strcmp(a, "--tokenizer") || !strcmp(a, "--kv-type");
        if (!known && a[0] == '-' && a[1]) return cli_error("run", CLI_USAGE, "unknown option '%s' (see llmq run --help)", a);
        if (!known) {
            if (o->model) return cli_error("run", CLI_USAGE, "unexpected argument '%s'", a);
            o->model = a;
            continue;
        }
        if (!(v = cli_value("run", argc, argv, &i))) return CLI_USAGE;
        bool ok = true;
        if (!strcmp(a, "-p")) o->prompt = v;
        else if (!strcmp(a, "--tokenizer")) o->tokenizer = v;
        else if (!strcmp(a, "--kv-type")) ok = cli_kv_type("run", v, &o->kv_type);
        else if (!strcmp(a, "-n")) ok = cli_int("run", a, v, 0, 1 << 20, &o->n);
        else if (!strcmp(a, "-t")) ok = cli_int("run", a, v, 1, 1024, &o->threads);
        else if (!strcmp(a, "--seed")) ok = cli_int("run", a, v, 0, INT32_MAX, &o->seed);
        else if (!strcmp(a, "--temp")) ok = cli_float("run", a, v, 0, 100, &o->temp);
        else ok = cli_float("run", a, v, 0, 1, &o->top_p);
        if (!ok) return CLI_USAGE;
    }
    if (!o->model) return cli_error("run", CLI_USAGE, "no MODEL given (see llmq run --help)");
    return 0;
}

static void emit(const llmq_model *m, int32_t prev, int32_t tok) {
    char piece[256];
    size_t n = llmq_token_to_piece(m, prev, tok, piece, sizeof piece);
    fwrite(piece, 1, n, stdout);
    fflush(stdout);
}

static int generate(llmq_model *m, const run_opts *o) {
    size_t n_prompt = 0, len = strlen(o->prompt);
    llmq_status st = llmq_tokenize(m, o->prompt, len, 1, NULL, 0, &n_prompt);
    if (st != LLMQ_OK) return cli_error("run", CLI_FAIL, "cannot tokenize the prompt (%s)%s", llmq_status_str(st),
                                        st == LLMQ_ERR_MISSING ? ": pass --tokenizer" : "");
    if (n_prompt == 0) return cli_error("run", CLI_FAIL, "the prompt is empty and the model adds no BOS token");
    int n_vocab = llmq_n_vocab(m);
    int32_t *toks = malloc((n_prompt + (size_t)o->n + 1) * sizeof *toks);
    float *logits = malloc((size_t)n_vocab * sizeof *logits);
    if (!toks || !logits) return free(toks), free(logits), cli_error("run", CLI_FAIL, "out of memory");
    llmq_tokenize(m, o->prompt, len, 1, toks, n_prompt, &n_prompt);
    fwrite(o->prompt, 1, len, stdout);
    llmq_error err = {0};
    llmq_sampler_params sp = {(float)o->temp, (float)o->top_p, o->seed >= 0 ? (uint64_t)o->seed : (uint64_t)time(NULL)};
    uint64_t rng = sp.seed;
    double ta = cli_now();
    st = llmq_decode(m, toks, (int)n_prompt, 0, logits, 1, &err);
    double tb = cli_now();
    int n_gen = 0, pos = (int)n_prompt;
    while (st == LLMQ_OK && n_gen < o->n) {
        int32_t t = llmq_sample(&sp, logits, n_vocab, &rng);
        if (t == llmq_token_eos(m)) break;
        emit(m, toks[pos - 1], t);
        toks[pos] = t;
        n_gen++;
        if (n_gen == o->n) break;
        st = llmq_decode(m, &toks[pos], 1, pos, logits, 1, &err);
        pos++;
    }
    double tc = cli_now();
    putchar('\n');
    fflush(stdout); /* the text ends before the statistics on a shared terminal */
    double tp = tb - ta, tg = tc - tb;
    if (o->print_tokens) {
        fprintf(stderr, "tokens:");
        for (int i = 0; i < n_gen; i++) fprintf(stderr, " %d", toks[n_prompt + i]);
        fputc('\n', stderr);
    }
    /* n_gen tokens were sampled; n_gen-1 of them needed a decode afterwards */
    fprintf(stderr, "llmq: prompt %zu tokens, %.1f tok/s; generation %d tokens, %.1f tok/s (%s)\n", n_prompt,
            (double)n_prompt / tp, n_gen, n_gen > 1 ? (double)(n_gen - 1) / tg : 0.0, llmq_isa_name());
    free(toks);
    free(logits);
    return st == LLMQ_OK ? CLI_OK : cli_fail("run", &err);
}

int cmd_run(int argc, char **argv) {
    run_opts o;
    int r = parse(argc, argv, &o);
    if (r) return r < 0 ? CLI_OK : r;
    llmq_model *m = cli_open_kv("run", o.model, o.tokenizer, (int)o.threads, 0, o.kv_type);
    if (!m) return CLI_FAIL;
    r = generate(m, &o);
    llmq_model_free(m);
    return r;
}
