/* llmq quantize MODEL OUT.gguf --type TYPE [--method M] [--calib TEXT | --imatrix FILE]. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_RULES 64

static const char help[] =
    "usage: llmq quantize MODEL OUT.gguf --type TYPE [--method METHOD] [--pure]\n"
    "                     [--tensor-type REGEX=TYPE ...] [--imatrix FILE]\n"
    "                     [--calib TEXT] [--calib-tokens N] [--calib-ctx C] [--calib-float-inputs]\n"
    "                     [--gptq-damp F] [--act-order] [--json] [-t THREADS] [--tokenizer FILE]\n"
    "                     [--scheme dynamic-int8|static-int8 [--observer OBS] [--smooth ALPHA]\n"
    "                      [--outlier-threshold T]]\n"
    "--method (default rtn):\n"
    "  rtn      round to nearest with the reference quantizers (the bytes llama-quantize\n"
    "           writes); importance-weighted (llama-quantize --imatrix) when --imatrix\n"
    "           or --calib gives an importance matrix\n"
    "  imatrix  rtn that requires the importance matrix\n"
    "  gptq     GPTQ: column by column with error feedback through the inverse Hessian\n"
    "  awq      AWQ: activation-aware per-channel scales folded into the norms, clipping\n"
    "  hqq      HQQ: calibration-free zero-point optimization (asymmetric types; others\n"
    "           are rounded to nearest); what gptq and awq become without --calib\n"
    "--calib TEXT runs the float model over the text (use text other than the evaluation\n"
    "set): --calib-tokens N tokens (65536) in sequences of --calib-ctx C (512), block by\n"
    "block; block i sees the batch after the quantized blocks before it, or the float\n"
    "model's with --calib-float-inputs. --imatrix FILE reads llama.cpp's imatrix\n"
    "files (.dat or .gguf; `llmq imatrix` writes them).\n"
    "--scheme quantizes activations too (W8A8): every linear layer's weights INT8 per\n"
    "output channel (I8_CH) and its input INT8 at run time, per token (dynamic-int8,\n"
    "as PyTorch's quantize_dynamic) or with scales fixed by calibration on --calib\n"
    "(static-int8; --observer minmax (default), ema, percentile, mse or kl).\n"
    "--smooth ALPHA (with --calib): SmoothQuant, activation outliers migrated into\n"
    "the weights with strength ALPHA (0.5 typical). --outlier-threshold T: LLM.int8,\n"
    "input columns with some |x| > T run in float (6 typical).\n"
    "--json prints a summary: method, per-tensor type and relative error (weighted by\n"
    "the importance where known), time and peak memory.\n"
    "TYPE is one of llama-quantize's mixes, which choose each tensor's type as it\n"
    "does: Q2_K Q2_K_S Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K Q4_0\n"
    "Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL; or, with --pure or for a plain type (Q3_K Q4_K\n"
    "Q5_K MXFP4 F16 BF16 F32), one type for every matrix. Rows that are not a multiple\n"
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

typedef struct report {
    double t0;
    bool tty;
    FILE *json; /* per-tensor lines go here while quantizing (a temporary file) */
    int n;
} report;

/* One line per tensor with an ETA, on a terminal only. */
static void progress(void *user, int done, int total, const char *name) {
    report *r = user;
    if (r->tty) cli_progress(r->t0, done, total, name);
}

static void tensor_done(void *user, const char *name, const char *type, double rel_err) {
    report *r = user;
    if (r->json)
        fprintf(r->json, "%s    {\"name\": \"%s\", \"type\": \"%s\", \"rel_error\": %.6g}", r->n++ ? ",\n" : "",
                name, type, rel_err);
}

static void print_json(report *r, const llmq_quantize_params *p, const char *out) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\n  \"output\": \"%s\",\n  \"type\": \"%s\",\n  \"method\": \"%s\",\n  \"fallback_tensors\": %d,\n",
           out, p->type, p->method_used ? p->method_used : "?", p->n_fallback);
    printf("  \"seconds\": %.2f,\n  \"peak_rss_mib\": %.1f,\n  \"tensors\": [\n", cli_now() - r->t0,
           ru.ru_maxrss / 1024.0);
    rewind(r->json);
    int ch;
    while ((ch = fgetc(r->json)) != EOF) putchar(ch);
    printf("\n  ]\n}\n");
}

static char *read_text(const char *path) {
    char *text = NULL;
    size_t len = 0;
    llmq_error err = {0};
    if (llmq_read_file(path, &text, &len, &err) != LLMQ_OK) {
        cli_fail("quantize", &err);
        return NULL;
    }
    return text;
}

int cmd_quantize(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *tok = NULL, *calib = NULL;
    const char *rules[MAX_RULES];
    llmq_quantize_params p = llmq_quantize_default_params();
    p.type = NULL; /* required on the command line (or implied by --scheme) */
    long threads = 0, ctoks = p.calib_tokens, cctx = p.calib_ctx;
    double damp = p.gptq_damp, smooth = 0, outlier = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) return fputs(help, stdout), CLI_OK;
        if (!strcmp(a, "--pure")) { p.pure = true; continue; }
        if (!strcmp(a, "--json")) { json = true; continue; }
        if (!strcmp(a, "--act-order")) { p.gptq_act_order = true; continue; }
        if (!strcmp(a, "--calib-float-inputs")) { p.calib_float_inputs = true; continue; }
        bool known = !strcmp(a, "--type") || !strcmp(a, "-t") || !strcmp(a, "--tokenizer") ||
                     !strcmp(a, "--tensor-type") || !strcmp(a, "--method") || !strcmp(a, "--imatrix") ||
                     !strcmp(a, "--calib") || !strcmp(a, "--calib-tokens") || !strcmp(a, "--calib-ctx") ||
                     !strcmp(a, "--gptq-damp") || !strcmp(a, "--scheme") || !strcmp(a, "--observer") ||
                     !strcmp(a, "--smooth") || !strcmp(a, "--outlier-threshold");
        if (!known && a[0] == '-' && a[1]) return cli_error("quantize", CLI_USAGE, "unknown option '%s' (see llmq quantize --help)", a);
        if (!known) {
            if (!in) in = a;
            else if (!out) out = a;
            else return cli_error("quantize", CLI_USAGE, "unexpected argument '%s'", a);
            continue;
        }
        if (!(v = cli_value("quantize", argc, argv, &i))) return CLI_USAGE;
        if (!strcmp(a, "--type")) p.type = v;
        else if (!strcmp(a, "--method")) {
            static const char *const methods[] = {"rtn", "imatrix", "gptq", "awq", "hqq"};
            bool ok = false;
            for (int k = 0; k < 5; k++) ok |= !strcmp(v, methods[k]);
            if (!ok) return cli_error("quantize", CLI_USAGE, "unknown method '%s' (methods: rtn imatrix gptq awq hqq)", v);
            p.method = v;
        } else if (!strcmp(a, "--tensor-type")) {
            if (p.n_tensor_types == MAX_RULES) return cli_error("quantize", CLI_USAGE, "at most %d --tensor-type rules", MAX_RULES);
            rules[p.n_tensor_types++] = v;
        } else if (!strcmp(a, "--tokenizer")) tok = v;
        else if (!strcmp(a, "--imatrix")) p.imatrix_path = v;
        else if (!strcmp(a, "--calib")) calib = v;
        else if (!strcmp(a, "--calib-tokens")) { if (!cli_int("quantize", a, v, 2, 1 << 24, &ctoks)) return CLI_USAGE; }
        else if (!strcmp(a, "--calib-ctx")) { if (!cli_int("quantize", a, v, 2, 1 << 16, &cctx)) return CLI_USAGE; }
        else if (!strcmp(a, "--gptq-damp")) { if (!cli_float("quantize", a, v, 1e-6, 10, &damp)) return CLI_USAGE; }
        else if (!strcmp(a, "--scheme")) {
            if (strcmp(v, "dynamic-int8") && strcmp(v, "static-int8"))
                return cli_error("quantize", CLI_USAGE, "unknown scheme '%s' (schemes: dynamic-int8 static-int8)", v);
            p.scheme = v;
        } else if (!strcmp(a, "--observer")) {
            static const char *const obs[] = {"minmax", "ema", "percentile", "mse", "kl"};
            bool ok = false;
            for (int k = 0; k < 5; k++) ok |= !strcmp(v, obs[k]);
            if (!ok) return cli_error("quantize", CLI_USAGE, "unknown observer '%s' (observers: minmax ema percentile mse kl)", v);
            p.observer = v;
        } else if (!strcmp(a, "--smooth")) {
            if (!cli_float("quantize", a, v, 0.01, 1, &smooth)) return CLI_USAGE;
        } else if (!strcmp(a, "--outlier-threshold")) {
            if (!cli_float("quantize", a, v, 1e-3, 1e9, &outlier)) return CLI_USAGE;
        }
        else if (!cli_int("quantize", a, v, 1, 1024, &threads)) return CLI_USAGE;
    }
    if (!in || !out) return cli_error("quantize", CLI_USAGE, "need MODEL and OUT.gguf (see llmq quantize --help)");
    if (!p.type && p.scheme) p.type = "I8_CH";
    if (!p.type) return cli_error("quantize", CLI_USAGE, "no --type given (see llmq quantize --help)");
    if (p.scheme && !strcmp(p.scheme, "static-int8") && !calib)
        return cli_error("quantize", CLI_USAGE, "--scheme static-int8 needs --calib TEXT");
    if ((smooth > 0 || p.observer) && !calib)
        return cli_error("quantize", CLI_USAGE, "--smooth and --observer need --calib TEXT");
    if ((smooth > 0 || p.observer || outlier > 0) && !p.scheme)
        return cli_error("quantize", CLI_USAGE, "--smooth, --observer and --outlier-threshold go with --scheme");
    if (!strcmp(p.method, "imatrix") && !calib && !p.imatrix_path)
        return cli_error("quantize", CLI_USAGE, "--method imatrix needs --imatrix FILE or --calib TEXT");
    char *text = NULL;
    if (calib && !(text = read_text(calib))) return CLI_FAIL;
    llmq_model *m = cli_open("quantize", in, tok, (int)threads, 0);
    if (!m) return free(text), CLI_FAIL;
    p.n_threads = (int)threads;
    p.tensor_types = rules;
    p.calib_text = text;
    p.calib_len = text ? strlen(text) : 0;
    p.calib_tokens = (int)ctoks;
    p.calib_ctx = (int)cctx;
    p.gptq_damp = (float)damp;
    p.smooth_alpha = (float)smooth;
    p.outlier_threshold = (float)outlier;
    report r = {cli_now(), isatty(2) != 0, json ? tmpfile() : NULL, 0};
    p.progress = progress;
    p.tensor_done = tensor_done;
    p.user = &r;
    llmq_error err = {0};
    llmq_status st = llmq_model_quantize(m, out, &p, &err);
    llmq_model_free(m);
    free(text);
    if (st == LLMQ_OK && r.json) print_json(&r, &p, out);
    if (r.json) fclose(r.json);
    return st == LLMQ_OK ? CLI_OK : cli_fail("quantize", &err);
}
