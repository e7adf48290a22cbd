/* llmq: the command-line tool. Each subcommand lives in its own cmd_*.c. */
#include "cli.h"

#include <stdbool.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Settings that libraries read once, before main; unless the user chose, llmq
 * restarts once with better ones:
 * - GNU OpenMP's wait policy. Its default (spin for ~300000 iterations after
 *   every parallel region) steals the cores that OpenBLAS's own threads need:
 *   prompt processing ran 2.6x slower on 2 cores. Not spinning at all costs
 *   generation a third of its speed (each of the ~200 small GEMVs per token
 *   waits for a sleeping thread). A short spin is the best of both
 *   (measured: README, Threads).
 * - OpenBLAS's kernels, when it does not know the CPU and falls back to SSE3
 *   (5x slower sgemm on a Xeon newer than the library). */
static void ensure_library_settings(char **argv) {
    bool change = false;
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        setenv("GOMP_SPINCOUNT", "10000", 1);
        change = true;
    }
    const char *core = getenv("OPENBLAS_CORETYPE") ? NULL : llmq_blas_better_core();
    if (core) setenv("OPENBLAS_CORETYPE", core, 1), change = true;
    if (change) execv("/proc/self/exe", argv);
    /* exec failed: go on with the defaults, slower but correct */
}

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
    ensure_library_settings(argv);
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
