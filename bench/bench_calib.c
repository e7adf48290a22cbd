/* Time of layer-by-layer calibration as GPTQ runs it: per block, the
 * statistics with the Hessians and a sample (one pass), then the advance (a
 * second pass), over n_seq sequences of ctx tokens of a text. Checks first
 * that each Hessian's diagonal matches the sums of x^2.
 * usage: bench_calib MODEL TEXT [n_seq ctx threads]   (default 16 512 2)
 * Runs under the OpenMP wait policy and OpenBLAS core the llmq tool sets
 * for itself. */
#include "model/llama_calib.h"
#include "model/model_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static double now(void) { return lq_now(); }

/* diag(H) is sum x^2 in float; the double sums must agree closely */
static bool check(const lq_calib_stats *s) {
    for (int i = 0; i < s->cols; i++) {
        double h = s->H[(size_t)i * s->cols + i], d = s->sum_x2[i];
        if (fabs(h - d) > 1e-3 * fmax(d, 1e-20)) {
            fprintf(stderr, "column %d: H diagonal %g, sum of x^2 %g\n", i, h, d);
            return false;
        }
    }
    return s->n > 0;
}

int main(int argc, char **argv) {
    llmq_restart_with_library_settings(argv); /* as the llmq tool */
    if (argc < 3) return fputs("usage: bench_calib MODEL TEXT [n_seq ctx threads]\n", stderr), 2;
    int n_seq = argc > 3 ? atoi(argv[3]) : 16, ctx = argc > 4 ? atoi(argv[4]) : 512, nt = argc > 5 ? atoi(argv[5]) : 2;
    llmq_error err = {0};
    llmq_model_params mp = llmq_model_default_params();
    mp.n_threads = nt;
    llmq_model *m = NULL;
    char *text;
    size_t len, n_tok;
    if (llmq_model_open(argv[1], &mp, &m, &err) != LLMQ_OK || llmq_read_file(argv[2], &text, &len, &err) != LLMQ_OK)
        return fprintf(stderr, "%s\n", err.msg), 1;
    int32_t *toks = malloc((len + 8) * sizeof *toks);
    llmq_tokenize(m, text, len, 1, toks, len + 8, &n_tok);
    if (n_tok < (size_t)n_seq * ctx) return fprintf(stderr, "text too short: %zu tokens\n", n_tok), 1;
    const lq_llama_hparams *hp = lq_llama_hparams_of(m->llama);
    lq_calib *c;
    double t0 = now(), t_stats = 0, t_adv = 0;
    if (lq_calib_open(m->llama, toks, n_seq, ctx, nt, &c, &err) != LLMQ_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    double t_open = now() - t0;
    for (int l = 0; l < hp->n_layer; l++) {
        lq_calib_stats st[LQ_POINT_COUNT];
        double t1 = now();
        if (lq_calib_block_stats(c, l, LQ_CALIB_HESSIAN | LQ_CALIB_SAMPLE, st, &err) != LLMQ_OK)
            return fprintf(stderr, "%s\n", err.msg), 1;
        double t2 = now();
        lq_calib_block_advance(c, l, &err);
        t_stats += t2 - t1;
        t_adv += now() - t2;
        for (int p = 0; p < LQ_POINT_COUNT; p++) {
            if (l == 0 && !check(&st[p])) return fputs("FAIL: statistics inconsistent\n", stderr), 1;
            lq_calib_stats_free(&st[p]);
        }
        fprintf(stderr, "\rblock %d/%d", l + 1, hp->n_layer);
    }
    double tokens = (double)n_seq * ctx;
    printf("\n%d x %d tokens, %d layers, %d threads: embed %.2f s, stats with H %.1f s, advance %.1f s, "
           "total %.1f s (%.0f tokens/s per block pass)\n",
           n_seq, ctx, hp->n_layer, nt, t_open, t_stats, t_adv, now() - t0,
           tokens * hp->n_layer * 2 / (t_stats + t_adv));
    lq_calib_free(c);
    free(toks);
    free(text);
    llmq_model_free(m);
    return 0;
}
