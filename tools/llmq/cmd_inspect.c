/* llmq inspect MODEL: what a model file holds. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: llmq inspect MODEL [--tokenizer FILE]\n"
    "Prints the architecture, hyper-parameters, how llmq quantized the file (if\n"
    "it did), every tensor (type, shape, bytes), then the total size and bits per\n"
    "weight.\n";

static void print_tensor(const llmq_tensor_info *t) {
    char shape[96] = "";
    for (int d = 0; d < t->n_dims; d++) {
        char part[24];
        snprintf(part, sizeof part, d ? " x %lld" : "%lld", (long long)t->shape[d]);
        strncat(shape, part, sizeof shape - strlen(shape) - 1);
    }
    printf("  %-40s %-12s %-22s %12llu\n", t->name, t->type, shape, (unsigned long long)t->n_bytes);
}

int cmd_inspect(int argc, char **argv) {
    const char *path = NULL, *tok = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) return fputs(help, stdout), CLI_OK;
        if (strcmp(argv[i], "--tokenizer") == 0) {
            if (!(tok = cli_value("inspect", argc, argv, &i))) return CLI_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_error("inspect", CLI_USAGE, "unknown option '%s' (see llmq inspect --help)", argv[i]);
        } else if (!path) {
            path = argv[i];
        } else {
            return cli_error("inspect", CLI_USAGE, "unexpected argument '%s'", argv[i]);
        }
    }
    if (!path) return cli_error("inspect", CLI_USAGE, "no MODEL given (see llmq inspect --help)");
    llmq_model *m = cli_open("inspect", path, tok, 1, 0);
    if (!m) return CLI_FAIL;
    llmq_model_info in;
    llmq_model_get_info(m, &in);
    printf("model:        %s\n", path);
    printf("format:       %s\n", in.format);
    printf("architecture: %s%s%s\n", in.arch_name, in.name[0] ? "  name: " : "", in.name);
    printf("vocab %d, width %d, layers %d, heads %d (kv %d), ffn %d, context %d, norm eps %g",
           in.n_vocab, in.n_embd, in.n_layer, in.n_head, in.n_head_kv, in.n_ff, in.n_ctx_train, in.norm_eps);
    if (in.arch == LLMQ_ARCH_LLAMA) printf(", rope theta %g, output %s", in.rope_theta, in.tied_output ? "tied" : "separate");
    printf("\n");
    if (in.quant_method[0])
        printf("quantized:    method %s%s%s, source weights checksum %s\n", in.quant_method,
               in.quant_options[0] ? ", " : "", in.quant_options, in.source_checksum[0] ? in.source_checksum : "?");
    printf("tensors (%d):\n", in.n_tensors);
    printf("  %-40s %-12s %-22s %12s\n", "name", "type", "shape", "bytes");
    for (int i = 0; i < in.n_tensors; i++) {
        llmq_tensor_info t;
        if (llmq_model_tensor_info(m, i, &t) == LLMQ_OK) print_tensor(&t);
    }
    double bpw = in.n_params ? 8.0 * (double)in.n_bytes / (double)in.n_params : 0.0;
    printf("total: %llu weights, %llu bytes (%.2f MiB), %.3f bits per weight\n", (unsigned long long)in.n_params,
           (unsigned long long)in.n_bytes, (double)in.n_bytes / 1048576.0, bpw);
    llmq_model_free(m);
    return CLI_OK;
}
