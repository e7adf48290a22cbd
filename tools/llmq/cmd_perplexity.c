/* llmq perplexity MODEL -f TEXT: perplexity as llama.cpp computes it. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: llmq perplexity MODEL -f TEXT [--ctx N] [--chunks N] [-b BATCH] [-t THREADS]\n"
    "                       [--tokenizer FILE] [--kld-base BASE [--base-tokenizer FILE]]\n"
    "                       [--kld-base-logits FILE] [--kv-type f32|f16|q8] [--json]\n"
    "Computed as llama.cpp's llama-perplexity does: tokenizes the whole text,\n"
    "cuts it into non-overlapping chunks of N tokens (default 512), each starting\n"
    "with BOS when the vocabulary adds one, scores the second half of each chunk\n"
    "and prints the perplexity with its standard error. --json prints one JSON\n"
    "object (ppl, ppl_err, tokens, seconds, ...) instead. --kld-base BASE also runs\n"
    "BASE (e.g. the float model) on the same tokens and reports, as llama.cpp's\n"
    "--kl-divergence does, the mean KL divergence of the model's next-token\n"
    "distributions from BASE's, how often both rank the same token first, and\n"
    "the change in perplexity. The text is tokenized by MODEL's tokenizer; BASE\n"
    "needs none (--base-tokenizer only if BASE is a llama2.c file and you want it).\n"
    "--kld-base-logits FILE, with --kld-base, also saves BASE's logits there (as\n"
    "llama-perplexity --kl-divergence-base); without --kld-base it reads them\n"
    "from there instead of running BASE again (same text, --ctx and --chunks).\n"
    "--kv-type stores MODEL's KV cache as f32 (default), f16 or q8 (int8 with a\n"
    "scale per 32 values); BASE keeps an f32 cache.\n";

/* Progress with ETA, only on a terminal. */
static void progress(void *user, int chunk, int n_chunks, double ppl) {
    char label[48];
    snprintf(label, sizeof label, "ppl %.4f", ppl);
    cli_progress(*(const double *)user, chunk, n_chunks, label);
}

static void print_result(const llmq_ppl_result *r, long ctx, bool kld, bool json) {
    if (json) {
        printf("{\"ppl\": %.6f, \"ppl_err\": %.6f, \"nll\": %.8f, \"ctx\": %ld, \"chunks\": %d, \"tokens\": %lld, "
               "\"scored\": %lld, \"seconds\": %.3f, \"tokens_per_second\": %.1f",
               r->ppl, r->ppl_err, r->nll_mean, ctx, r->n_chunks, (long long)r->n_tokens, (long long)r->n_scored,
               r->seconds, (double)r->n_chunks * (double)ctx / r->seconds);
        if (kld)
            printf(", \"base_ppl\": %.6f, \"delta_ppl\": %.6f, \"kld\": %.8f, \"kld_err\": %.8f, \"top1\": %.6f, "
                   "\"top1_err\": %.6f",
                   r->base_ppl, r->ppl - r->base_ppl, r->kld_mean, r->kld_err, r->top1, r->top1_err);
        printf("}\n");
        return;
    }
    printf("%d chunks of %ld tokens (%lld tokens in the text), %.1f s\nFinal estimate: PPL = %.4f +/- %.5f\n",
           r->n_chunks, ctx, (long long)r->n_tokens, r->seconds, r->ppl, r->ppl_err);
    if (kld)
        printf("Base PPL = %.4f, delta PPL = %+.4f\nMean KLD = %.6f +/- %.6f\nSame top token: %.3f%% +/- %.3f%%\n",
               r->base_ppl, r->ppl - r->base_ppl, r->kld_mean, r->kld_err, 100 * r->top1, 100 * r->top1_err);
}

int cmd_perplexity(int argc, char **argv) {
    const char *model = NULL, *file = NULL, *tok = NULL, *base_path = NULL, *base_tok = NULL, *base_logits = NULL;
    long ctx = 512, chunks = 0, threads = 0, batch = 0;
    bool json = false;
    llmq_kv_type kv_type = LLMQ_KV_F32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) return fputs(help, stdout), CLI_OK;
        if (!strcmp(a, "--json")) { json = true; continue; }
        bool known = !strcmp(a, "-f") || !strcmp(a, "--ctx") || !strcmp(a, "-c") || !strcmp(a, "--chunks") ||
                     !strcmp(a, "-t") || !strcmp(a, "-b") || !strcmp(a, "--tokenizer") || !strcmp(a, "--kld-base") ||
                     !strcmp(a, "--base-tokenizer") || !strcmp(a, "--kld-base-logits") || !strcmp(a, "--kv-type");
        if (!known && a[0] == '-' && a[1]) return cli_error("perplexity", CLI_USAGE, "unknown option '%s' (see llmq perplexity --help)", a);
        if (!known) {
            if (model) return cli_error("perplexity", CLI_USAGE, "unexpected argument '%s'", a);
            model = a;
            continue;
        }
        if (!(v = cli_value("perplexity", argc, argv, &i))) return CLI_USAGE;
        bool ok = true;
        if (!strcmp(a, "-f")) file = v;
        else if (!strcmp(a, "--tokenizer")) tok = v;
        else if (!strcmp(a, "--kld-base")) base_path = v;
        else if (!strcmp(a, "--base-tokenizer")) base_tok = v;
        else if (!strcmp(a, "--kld-base-logits")) base_logits = v;
        else if (!strcmp(a, "--kv-type")) ok = cli_kv_type("perplexity", v, &kv_type);
        else if (!strcmp(a, "--ctx") || !strcmp(a, "-c")) ok = cli_int("perplexity", a, v, 4, 1 << 20, &ctx);
        else if (!strcmp(a, "--chunks")) ok = cli_int("perplexity", a, v, 1, 1 << 30, &chunks);
        else if (!strcmp(a, "-b")) ok = cli_int("perplexity", a, v, 1, 1 << 20, &batch);
        else ok = cli_int("perplexity", a, v, 1, 1024, &threads);
        if (!ok) return CLI_USAGE;
    }
    if (!model) return cli_error("perplexity", CLI_USAGE, "no MODEL given (see llmq perplexity --help)");
    if (!file) return cli_error("perplexity", CLI_USAGE, "no text given: -f FILE");
    char *text;
    size_t len;
    llmq_error err = {0};
    if (llmq_read_file(file, &text, &len, &err) != LLMQ_OK) return cli_fail("perplexity", &err);
    llmq_model *m = cli_open_kv("perplexity", model, tok, (int)threads, (int)ctx, kv_type);
    if (!m) return free(text), CLI_FAIL;
    llmq_model *base = base_path ? cli_open("perplexity", base_path, base_tok, (int)threads, (int)ctx) : NULL;
    if (base_path && !base) return free(text), llmq_model_free(m), CLI_FAIL;
    llmq_ppl_params p = llmq_ppl_default_params();
    p.n_ctx = (int)ctx;
    p.n_chunks = (int)chunks;
    p.n_batch = (int)batch;
    p.kld_base = base;
    p.kld_base_logits = base_logits;
    double t0 = cli_now();
    if (isatty(2)) {
        p.progress = progress;
        p.user = &t0;
    }
    llmq_ppl_result r;
    llmq_status st = llmq_perplexity(m, text, len, &p, &r, &err);
    free(text);
    llmq_model_free(m);
    llmq_model_free(base);
    if (st != LLMQ_OK) return cli_fail("perplexity", &err);
    print_result(&r, ctx, base != NULL || base_logits, json);
    return CLI_OK;
}
