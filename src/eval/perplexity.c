/* Perplexity exactly as llama.cpp's llama-perplexity computes it. */
#include "core/lq.h"

#include <math.h>
#include <stdlib.h>

llmq_ppl_params llmq_ppl_default_params(void) {
    llmq_ppl_params p = {512, 0, 0, NULL, NULL};
    return p;
}

/* -log softmax(logits)[tok], in double as llama.cpp does. */
static double nll_of(const float *logits, int n_vocab, int tok) {
    float mx = logits[0];
    for (int i = 1; i < n_vocab; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0.0;
    for (int i = 0; i < n_vocab; i++) sum += exp((double)(logits[i] - mx));
    return -((double)(logits[tok] - mx) - log(sum));
}

static llmq_status tokenize_all(llmq_model *m, const char *text, size_t len, int32_t **toks, size_t *n,
                                lq_err *e) {
    size_t count = 0;
    llmq_status st = llmq_tokenize(m, text, len, 1, NULL, 0, &count);
    LQ_CHECK(st == LLMQ_OK, e, st, "tokenizing the text failed (%s)", llmq_status_str(st));
    *toks = lq_malloc_array(count ? count : 1, sizeof(int32_t));
    LQ_CHECK(*toks, e, LLMQ_ERR_NOMEM, "out of memory for %zu tokens", count);
    st = llmq_tokenize(m, text, len, 1, *toks, count, n);
    if (st != LLMQ_OK) {
        free(*toks);
        *toks = NULL;
        return lq_fail(e, st, "tokenizing the text failed (%s)", llmq_status_str(st));
    }
    return LLMQ_OK;
}

/* Scores one chunk: tokens c[0..n_ctx) with c[0] replaced by BOS when the
 * vocabulary adds one; adds the NLL of positions first+1..n_ctx-1. */
static llmq_status score_chunk(llmq_model *m, const int32_t *c, int n_ctx, int n_batch, bool add_bos,
                               float *logits, double *nll, double *nll2, lq_err *e) {
    int n_vocab = llmq_n_vocab(m), first = n_ctx / 2;
    int32_t *buf = malloc((size_t)n_ctx * sizeof *buf);
    LQ_CHECK(buf, e, LLMQ_ERR_NOMEM, "out of memory");
    for (int j = 0; j < n_ctx; j++) buf[j] = c[j];
    if (add_bos) buf[0] = llmq_token_bos(m);
    llmq_status st = LLMQ_OK;
    for (int b0 = 0; b0 < n_ctx && st == LLMQ_OK; b0 += n_batch) {
        int nb = LQ_MIN(n_batch, n_ctx - b0);
        /* logits of the positions in [first, n_ctx) that fall in this batch */
        int lo = LQ_MAX(first, b0), n_log = b0 + nb - lo;
        st = llmq_decode(m, buf + b0, nb, b0, n_log > 0 ? logits : NULL, n_log > 0 ? n_log : 0, e);
        for (int j = lo; st == LLMQ_OK && j < b0 + nb; j++) {
            if (j + 1 >= n_ctx) break;
            double v = nll_of(logits + (size_t)(j - lo) * n_vocab, n_vocab, c[j + 1]);
            *nll += v;
            *nll2 += v * v;
        }
    }
    free(buf);
    return st;
}

llmq_status llmq_perplexity(llmq_model *m, const char *text, size_t len, const llmq_ppl_params *p,
                            llmq_ppl_result *out, llmq_error *err) {
    llmq_ppl_params pp = p ? *p : llmq_ppl_default_params();
    int n_ctx = pp.n_ctx, n_batch = pp.n_batch > 0 ? LQ_MIN(pp.n_batch, n_ctx) : n_ctx;
    LQ_CHECK(n_ctx >= 4 && n_ctx <= (1 << 20), err, LLMQ_ERR_ARG, "context %d is out of range (4..1048576)", n_ctx);
    double t0 = lq_now();
    int32_t *toks;
    size_t n_tok;
    LQ_TRY(tokenize_all(m, text, len, &toks, &n_tok, err));
    size_t n_empty = 0;
    llmq_tokenize(m, "", 0, 1, NULL, 0, &n_empty);
    bool add_bos = n_empty == 1 && llmq_token_bos(m) >= 0;
    int max_chunks = (int)(n_tok / (size_t)n_ctx);
    int n_chunks = pp.n_chunks > 0 ? LQ_MIN(pp.n_chunks, max_chunks) : max_chunks;
    if (n_chunks < 1 || n_tok < 2 * (size_t)n_ctx) {
        free(toks);
        return lq_fail(err, LLMQ_ERR_ARG, "text has %zu tokens: need at least 2 x %d (the context)", n_tok, n_ctx);
    }
    float *logits = lq_malloc_array((size_t)(n_ctx - n_ctx / 2) * (size_t)llmq_n_vocab(m), sizeof(float));
    if (!logits) {
        free(toks);
        return lq_fail(err, LLMQ_ERR_NOMEM, "out of memory for logits");
    }
    double nll = 0.0, nll2 = 0.0;
    int64_t count = 0;
    llmq_status st = LLMQ_OK;
    for (int i = 0; i < n_chunks && st == LLMQ_OK; i++) {
        st = score_chunk(m, toks + (size_t)i * n_ctx, n_ctx, n_batch, add_bos, logits, &nll, &nll2, err);
        count += n_ctx - n_ctx / 2 - 1;
        if (st == LLMQ_OK && pp.progress) pp.progress(pp.user, i + 1, n_chunks, exp(nll / (double)count));
    }
    free(logits);
    free(toks);
    LQ_TRY(st);
    double mean = nll / (double)count, var = nll2 / (double)count - mean * mean;
    out->nll_mean = mean;
    out->ppl = exp(mean);
    out->ppl_err = var > 0 && count > 1 ? sqrt(var / (double)(count - 1)) * out->ppl : 0.0;
    out->n_chunks = n_chunks;
    out->n_tokens = (int64_t)n_tok;
    out->n_scored = count;
    out->seconds = lq_now() - t0;
    return LLMQ_OK;
}
