/* llmq embed MODEL [-f FILE | TEXT...]: sentence embeddings. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: llmq embed MODEL [-f FILE | TEXT...] [-t THREADS] [--stats]\n"
    "Prints one embedding per input (each line of FILE, or each TEXT argument)\n"
    "as one line of space-separated numbers on stdout. --stats: for W8A8 files,\n"
    "the share of input columns routed to float (LLM.int8 outliers) on stderr.\n";

static int embed_one(llmq_model *m, const char *text, size_t len, float *out, int dim) {
    llmq_error err = {0};
    if (llmq_embed(m, text, len, out, &err) != LLMQ_OK) return cli_fail("embed", &err);
    for (int i = 0; i < dim; i++) printf(i ? " %.7g" : "%.7g", out[i]);
    putchar('\n');
    return CLI_OK;
}

static int embed_file(llmq_model *m, const char *path, float *out, int dim) {
    char *data;
    size_t len;
    llmq_error err = {0};
    if (llmq_read_file(path, &data, &len, &err) != LLMQ_OK) return cli_fail("embed", &err);
    int r = CLI_OK;
    for (size_t s = 0; s < len && r == CLI_OK;) {
        size_t e = s;
        while (e < len && data[e] != '\n') e++;
        size_t n = e - s;
        if (n && data[s + n - 1] == '\r') n--;
        r = embed_one(m, data + s, n, out, dim);
        s = e + 1;
    }
    free(data);
    return r;
}

int cmd_embed(int argc, char **argv) {
    const char *model = NULL, *file = NULL;
    long threads = 0;
    bool stats = false;
    int first_text = argc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) return fputs(help, stdout), CLI_OK;
        if (!strcmp(a, "--stats")) {
            stats = true;
        } else if (!strcmp(a, "-f")) {
            if (!(file = cli_value("embed", argc, argv, &i))) return CLI_USAGE;
        } else if (!strcmp(a, "-t")) {
            const char *v = cli_value("embed", argc, argv, &i);
            if (!v || !cli_int("embed", a, v, 1, 1024, &threads)) return CLI_USAGE;
        } else if (a[0] == '-' && a[1]) {
            return cli_error("embed", CLI_USAGE, "unknown option '%s' (see llmq embed --help)", a);
        } else if (!model) {
            model = a;
        } else {
            first_text = i;
            break;
        }
    }
    if (!model) return cli_error("embed", CLI_USAGE, "no MODEL given (see llmq embed --help)");
    if (!file && first_text == argc) return cli_error("embed", CLI_USAGE, "give -f FILE or TEXT arguments");
    if (file && first_text < argc) return cli_error("embed", CLI_USAGE, "give either -f FILE or TEXT, not both");
    llmq_model *m = cli_open("embed", model, NULL, (int)threads, 0);
    if (!m) return CLI_FAIL;
    llmq_model_info in;
    llmq_model_get_info(m, &in);
    float *out = malloc((size_t)in.n_embd * sizeof *out);
    int r = out ? CLI_OK : cli_error("embed", CLI_FAIL, "out of memory");
    if (r == CLI_OK && file) r = embed_file(m, file, out, in.n_embd);
    for (int i = first_text; r == CLI_OK && i < argc; i++) r = embed_one(m, argv[i], strlen(argv[i]), out, in.n_embd);
    uint64_t routed, seen;
    if (r == CLI_OK && stats) {
        if (llmq_embed_w8a8_stats(m, &routed, &seen))
            fprintf(stderr, "W8A8: %.4f%% of input columns routed to float (%llu of %llu)\n",
                    seen ? 100.0 * routed / seen : 0.0, (unsigned long long)routed, (unsigned long long)seen);
        else
            fprintf(stderr, "no INT8 (W8A8) layers in this model\n");
    }
    free(out);
    llmq_model_free(m);
    return r;
}
