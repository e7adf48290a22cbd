/* llmq convert MODEL OUT.gguf: any loadable model as an F32 GGUF file. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: llmq convert MODEL OUT.gguf [--tokenizer FILE]\n"
    "Writes a decoder model (GGUF, Hugging Face directory or llama2.c checkpoint)\n"
    "or a BERT encoder (Hugging Face directory or GGUF) as a GGUF file with F32\n"
    "weights and its tokenizer in the metadata, in llama.cpp's layout (architecture\n"
    "llama or bert), so that llama.cpp and llmq read the same weights. The file\n"
    "appears only when complete.\n";

int cmd_convert(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *tok = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) return fputs(help, stdout), CLI_OK;
        if (!strcmp(argv[i], "--tokenizer")) {
            if (!(tok = cli_value("convert", argc, argv, &i))) return CLI_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_error("convert", CLI_USAGE, "unknown option '%s' (see llmq convert --help)", argv[i]);
        } else if (!in) {
            in = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            return cli_error("convert", CLI_USAGE, "unexpected argument '%s'", argv[i]);
        }
    }
    if (!in || !out) return cli_error("convert", CLI_USAGE, "need MODEL and OUT.gguf (see llmq convert --help)");
    llmq_model *m = cli_open("convert", in, tok, 0, 0);
    if (!m) return CLI_FAIL;
    llmq_error err = {0};
    llmq_status st = llmq_model_save_gguf(m, out, &err);
    llmq_model_free(m);
    return st == LLMQ_OK ? CLI_OK : cli_fail("convert", &err);
}
