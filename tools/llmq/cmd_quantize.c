/* llmq quantize MODEL OUT.gguf --type TYPE: round-to-nearest quantization. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: llmq quantize MODEL OUT.gguf --type TYPE [-t THREADS] [--tokenizer FILE]\n"
    "Quantizes every weight matrix of a decoder to TYPE by round-to-nearest with\n"
    "the reference quantizers (the same bytes llama-quantize writes without an\n"
    "importance matrix); norms stay F32. TYPE: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL\n"
    "Q2_K Q3_K Q4_K Q5_K Q6_K F16 BF16 F32. Rows that are not a multiple of 256\n"
    "fall back as llama-quantize does (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0,\n"
    "Q2_K/Q3_K -> IQ4_NL). The output appears only when complete.\n";

int cmd_quantize(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *tok = NULL, *type = NULL;
    long threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) return fputs(help, stdout), CLI_OK;
        bool known = !strcmp(a, "--type") || !strcmp(a, "-t") || !strcmp(a, "--tokenizer");
        if (!known && a[0] == '-' && a[1]) return cli_error("quantize", CLI_USAGE, "unknown option '%s' (see llmq quantize --help)", a);
        if (!known) {
            if (!in) in = a;
            else if (!out) out = a;
            else return cli_error("quantize", CLI_USAGE, "unexpected argument '%s'", a);
            continue;
        }
        if (!(v = cli_value("quantize", argc, argv, &i))) return CLI_USAGE;
        if (!strcmp(a, "--type")) type = v;
        else if (!strcmp(a, "--tokenizer")) tok = v;
        else if (!cli_int("quantize", a, v, 1, 1024, &threads)) return CLI_USAGE;
    }
    if (!in || !out) return cli_error("quantize", CLI_USAGE, "need MODEL and OUT.gguf (see llmq quantize --help)");
    if (!type) return cli_error("quantize", CLI_USAGE, "no --type given (see llmq quantize --help)");
    llmq_model *m = cli_open("quantize", in, tok, (int)threads, 0);
    if (!m) return CLI_FAIL;
    llmq_quantize_params p = llmq_quantize_default_params();
    p.type = type;
    p.n_threads = (int)threads;
    llmq_error err = {0};
    llmq_status st = llmq_model_quantize(m, out, &p, &err);
    llmq_model_free(m);
    return st == LLMQ_OK ? CLI_OK : cli_fail("quantize", &err);
}
