/* llmq: the command-line tool. Each subcommand lives in its own cmd_*.c. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llmq COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  inspect     MODEL                      architecture, tensors, size, bits per weight\n"
    "  run         MODEL -p PROMPT -n N       generate text\n"
    "  embed       MODEL [-f FILE | TEXT...]  sentence embeddings (encoder models)\n"
    "  perplexity  MODEL -f TEXT              perplexity as llama.cpp computes it\n"
    "  convert     MODEL OUT.gguf             write a model as an F32 GGUF file\n"
    "  quantize    MODEL OUT.gguf --type T    round-to-nearest quantization to a GGML type\n"
    "  imatrix     MODEL -f TEXT -o FILE      importance matrix as llama-imatrix computes it\n"
    "  bench       [--types ...] [--model M]  format and model throughput\n"
    "\n"
    "MODEL is a .gguf file, a llama2.c .bin checkpoint (with --tokenizer) or a\n"
    "Hugging Face model directory. 'llmq COMMAND --help' explains each command.\n";

int main(int argc, char **argv) {
    llmq_restart_with_library_settings(argv); /* OpenMP and OpenBLAS settings */
    if (argc < 2) {
        fputs("llmq: no command given (try 'llmq --help')\n", stderr);
        return CLI_USAGE;
    }
    if (cli_is_help(argv[1])) return fputs(usage, stdout), CLI_OK;
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"inspect", cmd_inspect}, {"run", cmd_run}, {"embed", cmd_embed},
                {"perplexity", cmd_perplexity}, {"convert", cmd_convert},
                {"quantize", cmd_quantize}, {"imatrix", cmd_imatrix}, {"bench", cmd_bench}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "llmq: unknown command '%s' (try 'llmq --help')\n", argv[1]);
    return CLI_USAGE;
}
