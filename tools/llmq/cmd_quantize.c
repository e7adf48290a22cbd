/* llmq quantize MODEL OUT.gguf --type TYPE: round-to-nearest quantization. */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_RULES 64

static const char help[] =
    "usage: llmq quantize MODEL OUT.gguf --type TYPE [--method rtn] [--pure]\n"
    "                     [--tensor-type REGEX=TYPE ...] [-t THREADS] [--tokenizer FILE]\n"
    "--method rtn (the default and, for now, the only method): round-to-nearest\n"
    "quantization with the reference quantizers (the same bytes\n"
    "llama-quantize writes without an importance matrix); norms stay F32.\n"
    "TYPE is one of llama-quantize's mixes, which choose each tensor's type as it\n"
    "does: Q2_K Q2_K_S Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K Q4_0\n"
    "Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL; or, with --pure or for a plain type (Q3_K Q4_K\n"
    "Q5_K F16 BF16 F32), one type for every matrix. Rows that are not a multiple\n"
    "of 256 fall back as llama-quantize does (Q4_K -> Q5_0, Q5_K -> Q5_1,\n"
    "Q6_K -> Q8_0, Q2_K/Q3_K -> Q4_0); rows that fit no block stay F16.\n"
    "--tensor-type (repeatable) gives the tensors whose name matches REGEX another\n"
    "type; the first match wins, e.g. --tensor-type 'attn_v|ffn_down=Q6_K'.\n"
    "The output appears only when complete.\n"
    "BERT encoders are written in llama.cpp's bert layout; a mix gives them its base\n"
    "type everywhere (Q4_K_M -> Q4_K); position and token-type embeddings, biases\n"
    "and LayerNorms stay F32 as llama-quantize keeps them.\n"
    "llmq's own formats (docs/FORMATS.md; llama.cpp cannot read them) are plain\n"
    "types too: per-channel INT8, group-wise INTn (n = 2, 3, 4, 8; group 32, 64,\n"
    "128; S symmetric, A asymmetric with a zero point), NF4, FP8 E4M3 per channel\n"
    "or per group. A group that does not divide a row halves (G128 -> G64 -> G32).\n"
    "llmq formats: I8_CH I2_G32S I2_G32A I2_G64S I2_G64A I2_G128S I2_G128A I3_G32S I3_G32A\n"
    "  I3_G64S I3_G64A I3_G128S I3_G128A I4_G32S I4_G32A I4_G64S I4_G64A I4_G128S I4_G128A\n"
    "  I8_G32S I8_G32A I8_G64S I8_G64A I8_G128S I8_G128A NF4 F8_E4M3_CH F8_E4M3_G32 F8_E4M3_G128\n";

/* One line per tensor with an ETA, on a terminal only. */
static void progress(void *user, int done, int total, const char *name) {
    cli_progress(*(const double *)user, done, total, name);
}

int cmd_quantize(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *tok = NULL, *type = NULL;
    const char *rules[MAX_RULES];
    int n_rules = 0;
    long threads = 0;
    bool pure = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) return fputs(help, stdout), CLI_OK;
        if (!strcmp(a, "--pure")) { pure = true; continue; }
        bool known = !strcmp(a, "--type") || !strcmp(a, "-t") || !strcmp(a, "--tokenizer") ||
                     !strcmp(a, "--tensor-type") || !strcmp(a, "--method");
        if (!known && a[0] == '-' && a[1]) return cli_error("quantize", CLI_USAGE, "unknown option '%s' (see llmq quantize --help)", a);
        if (!known) {
            if (!in) in = a;
            else if (!out) out = a;
            else return cli_error("quantize", CLI_USAGE, "unexpected argument '%s'", a);
            continue;
        }
        if (!(v = cli_value("quantize", argc, argv, &i))) return CLI_USAGE;
        if (!strcmp(a, "--type")) type = v;
        else if (!strcmp(a, "--method")) {
            if (strcmp(v, "rtn") != 0) return cli_error("quantize", CLI_USAGE, "unknown method '%s' (methods: rtn)", v);
        } else if (!strcmp(a, "--tensor-type")) {
            if (n_rules == MAX_RULES) return cli_error("quantize", CLI_USAGE, "at most %d --tensor-type rules", MAX_RULES);
            rules[n_rules++] = v;
        }
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
    p.pure = pure;
    p.tensor_types = rules;
    p.n_tensor_types = n_rules;
    double t0 = cli_now();
    if (isatty(2)) {
        p.progress = progress;
        p.user = &t0;
    }
    llmq_error err = {0};
    llmq_status st = llmq_model_quantize(m, out, &p, &err);
    llmq_model_free(m);
    return st == LLMQ_OK ? CLI_OK : cli_fail("quantize", &err);
}
