/* Perplexity exactly as llama.cpp's llama-perplexity computes it, and the
 * KL divergence against a base model as its --kl-divergence mode does. */
#include "core/lq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

llmq_ppl_params llmq_ppl_default_params(void) {
    llmq_ppl_params p = {512, 0, 0, NULL, NULL, NULL, NULL};
    return p;
}

/* Sums over the scored tokens. */
typedef struct acc {
    double nll, nll2;       /* model */
    double base_nll;        /* base model */
    double kld, kld2;
    int64_t top1, count;
} acc;

/* Row statistics of one logit row: max and log of sum(exp(l - max)). */
static void log_norm(const float *l, int n, float *mx, double *lse) {
    float m = l[0];
    for (int i = 1; i < n; i++) m = l[i] > m ? l[i] : m;
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += exp((double)(l[i] - m));
    *mx = m;
    *lse = log(sum);
}

static int argmax(const float *l, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (l[i] > l[b]) b = i;
    return b;
}

/* Scores one position: tok is the true next token. */
static void score_row(const float *l, const float *bl, int n_vocab, int tok, acc *a) {
    float mx;
    double lse;
    log_norm(l, n_vocab, &mx, &lse);
    double v = -((double)(l[tok] - mx) - lse); /* -log softmax, in double as llama.cpp */
    a->nll += v;
    a->nll2 += v * v;
    a->count++;
    if (!bl) return;
    float bmx;
    double blse, kl = 0.0;
    log_norm(bl, n_vocab, &bmx, &blse);
    a->base_nll += -((double)(bl[tok] - bmx) - blse);
    for (int i = 0; i < n_vocab; i++) {
        double lb = (double)(bl[i] - bmx) - blse, lq = (double)(l[i] - mx) - lse;
        kl += exp(lb) * (lb - lq);
    }
    a->kld += kl;
    a->kld2 += kl * kl;
    a->top1 += argmax(l, n_vocab) == argmax(bl, n_vocab);
}

/* Tokenizes the whole text once: no tokenizer here makes more than one token
 * per input byte plus a few specials (BOS, a dummy-prefix space, [CLS]/[SEP]),
 * so len + 8 slots always suffice. */
static llmq_status tokenize_all(llmq_model *m, const char *text, size_t len, int32_t **toks, size_t *n,
                                lq_err *e) {
    size_t cap = len + 8;
    *toks = lq_malloc_array(cap, sizeof(int32_t));
    LQ_CHECK(*toks, e, LLMQ_ERR_NOMEM, "out of memory for up to %zu tokens", cap);
    llmq_status st = llmq_tokenize(m, text, len, 1, *toks, cap, n);
    if (st != LLMQ_OK) {
        free(*toks);
        *toks = NULL;
        return lq_fail(e, st, "tokenizing the text failed (%s)", llmq_status_str(st));
    }
    return LLMQ_OK;
}

typedef struct chunk_ctx {
    llmq_model *m, *base;
    int n_ctx, n_batch, n_vocab;
    bool add_bos;
    float *logits, *base_logits; /* (n_ctx - n_ctx/2, n_vocab) each */
    int32_t *buf;                /* (n_ctx) */
    FILE *base_in, *base_out;    /* base logits file being read / written */
    char base_tmp[4096];         /* where base_out goes until it is complete */
    bool base_logits_used;       /* KLD figures are meaningful */
} chunk_ctx;

/* Base logits file: this header, then the scored rows' logits (float32) of
 * every chunk in order. */
typedef struct base_header {
    char magic[8]; /* "LLMQKLD1" */
    int32_t n_vocab, n_ctx, n_chunks, pad;
    uint64_t tokens_fnv;
} base_header;

static base_header make_header(const chunk_ctx *x, int n_chunks, const int32_t *toks) {
    base_header h = {{'L', 'L', 'M', 'Q', 'K', 'L', 'D', '1'}, x->n_vocab, x->n_ctx, n_chunks, 0,
                     1469598103934665603ull};
    const uint8_t *b = (const uint8_t *)toks;
    for (size_t i = 0; i < (size_t)n_chunks * x->n_ctx * sizeof *toks; i++) h.tokens_fnv = (h.tokens_fnv ^ b[i]) * 1099511628211ull;
    return h;
}

/* Scores one chunk: tokens c[0..n_ctx) with c[0] replaced by BOS when the
 * vocabulary adds one; scores positions n_ctx/2 .. n_ctx-2. */
static llmq_status score_chunk(const chunk_ctx *x, const int32_t *c, acc *a, lq_err *e) {
    int n_ctx = x->n_ctx, first = n_ctx / 2;
    memcpy(x->buf, c, (size_t)n_ctx * sizeof *x->buf);
    if (x->add_bos) x->buf[0] = llmq_token_bos(x->m);
    for (int b0 = 0; b0 < n_ctx; b0 += x->n_batch) {
        int nb = LQ_MIN(x->n_batch, n_ctx - b0);
        /* logits of the positions in [first, n_ctx) that fall in this batch */
        int lo = LQ_MAX(first, b0), n_log = b0 + nb - lo;
        LQ_TRY(llmq_decode(x->m, x->buf + b0, nb, b0, n_log > 0 ? x->logits : NULL, LQ_MAX(n_log, 0), e));
        size_t nf = (size_t)LQ_MAX(n_log, 0) * x->n_vocab;
        if (x->base) {
            LQ_TRY(llmq_decode(x->base, x->buf + b0, nb, b0, n_log > 0 ? x->base_logits : NULL, LQ_MAX(n_log, 0), e));
            LQ_CHECK(!x->base_out || fwrite(x->base_logits, sizeof(float), nf, x->base_out) == nf, e, LLMQ_ERR_IO,
                     "cannot write the base logits file");
        } else if (x->base_in) {
            LQ_CHECK(fread(x->base_logits, sizeof(float), nf, x->base_in) == nf, e, LLMQ_ERR_FORMAT,
                     "the base logits file is truncated");
        }
        for (int j = lo; j < b0 + nb && j + 1 < n_ctx; j++) {
            size_t row = (size_t)(j - lo) * x->n_vocab;
            score_row(x->logits + row, x->base_logits ? x->base_logits + row : NULL, x->n_vocab, c[j + 1], a);
        }
    }
    return LLMQ_OK;
}

/* With a base model: the file (if named) is written to path.tmp. Without:
 * the file is opened for reading and its header checked. */
static llmq_status open_base_file(chunk_ctx *x, const char *path, int n_chunks, const int32_t *toks, lq_err *e) {
    x->base_logits_used = x->base != NULL;
    if (!path) return LLMQ_OK;
    base_header want = make_header(x, n_chunks, toks), got;
    if (x->base) {
        char *tmp = x->base_tmp;
        LQ_CHECK(snprintf(tmp, sizeof x->base_tmp, "%s.tmp", path) < (int)sizeof x->base_tmp, e, LLMQ_ERR_ARG,
                 "path too long");
        x->base_out = fopen(tmp, "wb");
        LQ_CHECK(x->base_out, e, LLMQ_ERR_IO, "cannot create %s", tmp);
        LQ_CHECK(fwrite(&want, sizeof want, 1, x->base_out) == 1, e, LLMQ_ERR_IO, "cannot write %s", tmp);
        return LLMQ_OK;
    }
    x->base_in = fopen(path, "rb");
    LQ_CHECK(x->base_in, e, LLMQ_ERR_IO, "cannot open the base logits file %s", path);
    LQ_CHECK(fread(&got, sizeof got, 1, x->base_in) == 1 && memcmp(got.magic, want.magic, 8) == 0, e,
             LLMQ_ERR_FORMAT, "%s is not an llmq base logits file", path);
    LQ_CHECK(got.n_vocab == want.n_vocab && got.n_ctx == want.n_ctx && got.n_chunks == want.n_chunks &&
                 got.tokens_fnv == want.tokens_fnv,
             e, LLMQ_ERR_ARG, "%s was made for other tokens or settings (vocab %d, ctx %d, %d chunks)", path,
             got.n_vocab, got.n_ctx, got.n_chunks);
    x->base_logits_used = true;
    return LLMQ_OK;
}

static llmq_status close_base_file(chunk_ctx *x, const char *path, llmq_status st, lq_err *e) {
    if (x->base_in) fclose(x->base_in);
    if (!x->base_out) return st;
    bool ok = fclose(x->base_out) == 0 && st == LLMQ_OK;
    if (ok && rename(x->base_tmp, path) == 0) return st;
    unlink(x->base_tmp);
    return st != LLMQ_OK ? st : lq_fail(e, LLMQ_ERR_IO, "cannot write the base logits file %s", path);
}

static void finish(const acc *a, bool kld, llmq_ppl_result *out) {
    double n = (double)a->count, mean = a->nll / n, var = a->nll2 / n - mean * mean;
    out->nll_mean = mean;
    out->ppl = exp(mean);
    out->ppl_err = var > 0 && n > 1 ? sqrt(var / (n - 1)) * out->ppl : 0.0;
    out->n_scored = a->count;
    if (!kld) return;
    double km = a->kld / n, kv = a->kld2 / n - km * km, t = (double)a->top1 / n;
    out->base_ppl = exp(a->base_nll / n);
    out->kld_mean = km;
    out->kld_err = kv > 0 && n > 1 ? sqrt(kv / (n - 1)) : 0.0;
    out->top1 = t;
    out->top1_err = n > 1 ? sqrt(t * (1 - t) / (n - 1)) : 0.0;
}

static llmq_status run_chunks(chunk_ctx *x, const int32_t *toks, int n_chunks, const llmq_ppl_params *pp, acc *a,
                              lq_err *e) {
    size_t rows = (size_t)(x->n_ctx - x->n_ctx / 2);
    x->logits = lq_malloc_array(rows * (size_t)x->n_vocab, sizeof(float));
    bool kld = x->base || x->base_in;
    x->base_logits = kld ? lq_malloc_array(rows * (size_t)x->n_vocab, sizeof(float)) : NULL;
    x->buf = lq_malloc_array((size_t)x->n_ctx, sizeof(int32_t));
    llmq_status st = x->logits && x->buf && (!kld || x->base_logits)
                         ? LLMQ_OK
                         : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for logits");
    for (int i = 0; i < n_chunks && st == LLMQ_OK; i++) {
        st = score_chunk(x, toks + (size_t)i * x->n_ctx, a, e);
        if (st == LLMQ_OK && pp->progress) pp->progress(pp->user, i + 1, n_chunks, exp(a->nll / (double)a->count));
    }
    free(x->logits);
    free(x->base_logits);
    free(x->buf);
    return st;
}

llmq_status llmq_perplexity(llmq_model *m, const char *text, size_t len, const llmq_ppl_params *p,
                            llmq_ppl_result *out, llmq_error *err) {
    llmq_ppl_params pp = p ? *p : llmq_ppl_default_params();
    int n_ctx = pp.n_ctx;
    LQ_CHECK(n_ctx >= 4 && n_ctx <= (1 << 20), err, LLMQ_ERR_ARG, "context %d is out of range (4..1048576)", n_ctx);
    LQ_CHECK(!pp.kld_base || llmq_n_vocab(pp.kld_base) == llmq_n_vocab(m), err, LLMQ_ERR_ARG,
             "the base model's vocabulary (%d) differs from the model's (%d)",
             pp.kld_base ? llmq_n_vocab(pp.kld_base) : 0, llmq_n_vocab(m));
    double t0 = lq_now();
    memset(out, 0, sizeof *out);
    int32_t *toks;
    size_t n_tok;
    LQ_TRY(tokenize_all(m, text, len, &toks, &n_tok, err));
    size_t n_empty = 0;
    llmq_tokenize(m, "", 0, 1, NULL, 0, &n_empty);
    int max_chunks = (int)(n_tok / (size_t)n_ctx);
    int n_chunks = pp.n_chunks > 0 ? LQ_MIN(pp.n_chunks, max_chunks) : max_chunks;
    if (n_chunks < 1 || n_tok < 2 * (size_t)n_ctx) {
        free(toks);
        return lq_fail(err, LLMQ_ERR_ARG, "text has %zu tokens: need at least 2 x %d (the context)", n_tok, n_ctx);
    }
    chunk_ctx x = {m, pp.kld_base, n_ctx, pp.n_batch > 0 ? LQ_MIN(pp.n_batch, n_ctx) : n_ctx, llmq_n_vocab(m),
                   n_empty == 1 && llmq_token_bos(m) >= 0, NULL, NULL, NULL, NULL, NULL, "", false};
    llmq_status st = open_base_file(&x, pp.kld_base_logits, n_chunks, toks, err);
    acc a = {0};
    if (st == LLMQ_OK) st = run_chunks(&x, toks, n_chunks, &pp, &a, err);
    free(toks);
    st = close_base_file(&x, pp.kld_base_logits, st, err);
    LQ_TRY(st);
    finish(&a, x.base_logits_used, out);
    out->n_chunks = n_chunks;
    out->n_tokens = (int64_t)n_tok;
    out->seconds = lq_now() - t0;
    return LLMQ_OK;
}
