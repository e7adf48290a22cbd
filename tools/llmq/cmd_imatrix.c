/* llmq imatrix MODEL -f TEXT -o FILE: llama-imatrix's importance matrix. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: llmq imatrix MODEL -f TEXT -o FILE [--ctx N] [--chunks N] [-t THREADS]\n"
    "                    [--process-output] [--tokenizer FILE]\n"
    "Computed as llama.cpp's llama-imatrix does: tokenizes the text, cuts it\n"
    "into chunks of N tokens (default 512; BOS first when the vocabulary adds\n"
    "one), runs the model over every chunk and gathers, for the input of each\n"
    "linear layer (blk.N.attn_q/k/v/output, ffn_gate/up/down), the sum of x^2\n"
    "per column and the number of tokens. FILE gets llama.cpp's GGUF imatrix\n"
    "format when it ends in .gguf, else the legacy .dat format; both are read\n"
    "by llama-quantize --imatrix. --process-output also covers output.weight\n"
    "(models whose output matrix is not the token embedding).\n";

static void progress(void *user, int chunk, int n_chunks) {
    cli_progress(*(const double *)user, chunk, n_chunks, "chunks");
}

int cmd_imatrix(int argc, char **argv) {
    const char *model = NULL, *file = NULL, *out = NULL, *tok = NULL;
    long ctx = 512, chunks = 0, threads = 0;
    bool process_output = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) return fputs(help, stdout), CLI_OK;
        if (!strcmp(a, "--process-output")) { process_output = true; continue; }
        bool known = !strcmp(a, "-f") || !strcmp(a, "-o") || !strcmp(a, "--ctx") || !strcmp(a, "-c") ||
                     !strcmp(a, "--chunks") || !strcmp(a, "-t") || !strcmp(a, "--tokenizer");
        if (!known && a[0] == '-' && a[1]) return cli_error("imatrix", CLI_USAGE, "unknown option '%s' (see llmq imatrix --help)", a);
        if (!known) {
            if (model) return cli_error("imatrix", CLI_USAGE, "unexpected argument '%s'", a);
            model = a;
            continue;
        }
        if (!(v = cli_value("imatrix", argc, argv, &i))) return CLI_USAGE;
        bool ok = true;
        if (!strcmp(a, "-f")) file = v;
        else if (!strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "--tokenizer")) tok = v;
        else if (!strcmp(a, "--ctx") || !strcmp(a, "-c")) ok = cli_int("imatrix", a, v, 4, 1 << 20, &ctx);
        else if (!strcmp(a, "--chunks")) ok = cli_int("imatrix", a, v, 1, 1 << 30, &chunks);
        else ok = cli_int("imatrix", a, v, 1, 1024, &threads);
        if (!ok) return CLI_USAGE;
    }
    if (!model) return cli_error("imatrix", CLI_USAGE, "no MODEL given (see llmq imatrix --help)");
    if (!file) return cli_error("imatrix", CLI_USAGE, "no text given: -f FILE");
    if (!out) return cli_error("imatrix", CLI_USAGE, "no output file given: -o FILE");
    char *text;
    size_t len;
    llmq_error err = {0};
    if (llmq_read_file(file, &text, &len, &err) != LLMQ_OK) return cli_fail("imatrix", &err);
    llmq_model *m = cli_open("imatrix", model, tok, (int)threads, 0);
    if (!m) return free(text), CLI_FAIL;
    llmq_imatrix_params p = llmq_imatrix_default_params();
    p.n_ctx = (int)ctx;
    p.n_chunks = (int)chunks;
    p.process_output = process_output;
    p.dataset = file;
    double t0 = cli_now();
    if (isatty(2)) {
        p.progress = progress;
        p.user = &t0;
    }
    llmq_imatrix_result r;
    llmq_status st = llmq_model_imatrix(m, text, len, &p, out, &r, &err);
    free(text);
    llmq_model_free(m);
    if (st != LLMQ_OK) return cli_fail("imatrix", &err);
    printf("%d entries from %d chunks of %ld tokens (%lld tokens in the text), %.1f s: wrote %s\n", r.n_entries,
           r.n_chunks, ctx, (long long)r.n_tokens, r.seconds, out);
    return CLI_OK;
}
