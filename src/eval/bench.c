/* Format throughput and read bandwidth for `llmq bench` (llmq.h). */
#include "llmq/llmq.h"

#include "algo/rtn.h"
#include "core/lq.h"
#include "eval/read_sum.h"
#include "eval/synth_weights.h"
#include "kernels/qmatmul.h"
#include "model/model_internal.h"
#include "quant/types.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { MAX_REPS = 64 };
/* read before each cold GEMV: eight times the largest last-level cache seen
 * on the machines measured (32 MiB) */
#define EVICT_BYTES ((size_t)256 << 20)

static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof t[0], cmp_double);
    return t[n / 2];
}

double llmq_bench_read_bw(size_t bytes, int n_threads, int reps) {
    const size_t n = bytes / 128 * 128;
    uint8_t *a = lq_alloc_aligned(n);
    if (!a || n == 0) return lq_free_aligned(a), 0.0;
    if (reps < 1) reps = 1;
    if (reps > MAX_REPS) reps = MAX_REPS;
    #pragma omp parallel for num_threads(n_threads) schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = (uint8_t)i;
    double t[MAX_REPS];
    volatile uint64_t sink = 0;
    for (int r = 0; r <= reps; r++) {
        double t0 = lq_now();
        sink += lq_read_sum(a, n, n_threads); /* every byte (read_sum.h) */
        if (r > 0) t[r - 1] = lq_now() - t0; /* the first pass is a warm-up */
    }
    (void)sink;
    lq_free_aligned(a);
    return (double)n / median(t, reps) / 1e9;
}

llmq_status llmq_bench_format(const char *type_name, int rows, int cols, int n_threads, int reps, bool cold,
                              llmq_bench_format_result *res, llmq_error *err) {
    memset(res, 0, sizeof *res);
    uint32_t type;
    LQ_CHECK(lq_rtn_type_from_name(type_name, &type), err, LLMQ_ERR_ARG, "unknown or unsupported type '%s'",
             type_name);
    LQ_CHECK(rows > 0 && cols > 0 && reps > 0 && reps <= MAX_REPS, err, LLMQ_ERR_ARG,
             "bench: rows, cols and reps (1..%d) must be positive", MAX_REPS);
    size_t rb = lq_row_size(type, cols);
    LQ_CHECK(rb, err, LLMQ_ERR_SHAPE, "rows of %d values do not fit %s blocks", cols, type_name);
    if (n_threads <= 0) n_threads = lq_n_cpus();
    size_t n = (size_t)rows * cols;
    float *w = lq_alloc_aligned(n * sizeof(float)), *x = lq_alloc_aligned((size_t)cols * sizeof(float));
    float *y = lq_alloc_aligned((size_t)rows * sizeof(float));
    void *q = lq_alloc_aligned(rb * rows);
    void *mm = lq_alloc_aligned(lq_qmatmul_scratch_bytes(cols, n_threads));
    uint8_t *evict = cold ? lq_alloc_aligned(EVICT_BYTES) : NULL;
    llmq_status st = LLMQ_OK;
    lq_qweight W = {0};
    if (!w || !x || !y || !q || !mm || (cold && !evict)) {
        st = lq_fail(err, LLMQ_ERR_NOMEM, "out of memory for a %d x %d matrix", rows, cols);
        goto done;
    }
    lq_synth_weights(w, n);
    for (int i = 0; i < cols; i++) x[i] = sinf(0.37f * (float)i);
    /* quantizing is slow and long enough to time once */
    double t[MAX_REPS], tq = lq_now();
    st = lq_rtn_quantize(w, rows, cols, type, q, n_threads, err);
    if (st != LLMQ_OK) goto done;
    res->quantize_gws = n / (lq_now() - tq) / 1e9;
    res->bits_per_weight = 8.0 * rb / cols;
    lq_to_float_fn to_float = lq_type_get(type)->to_float;
    for (int r = 0; r <= reps; r++) {
        double t0 = lq_now();
        #pragma omp parallel for num_threads(n_threads) schedule(static)
        for (int i = 0; i < rows; i++) to_float((const char *)q + (size_t)i * rb, w + (size_t)i * cols, cols);
        if (r > 0) t[r - 1] = lq_now() - t0;
    }
    res->dequantize_gws = n / median(t, reps) / 1e9;
    if (!lq_qweight_init(&W, type, q, rows, cols, true)) {
        st = lq_fail(err, LLMQ_ERR_NOMEM, "out of memory");
        goto done;
    }
    res->gemv_native = W.dot != NULL;
    /* check: w now holds the dequantized weights; compare with a double dot */
    lq_qmatmul(y, x, &W, 1, n_threads, mm);
    double worst = 0, scale = 0;
    for (int i = 0; i < rows; i++) {
        double ref = 0, mag = 0;
        for (int j = 0; j < cols; j++) {
            ref += (double)w[(size_t)i * cols + j] * x[j];
            mag += fabs((double)w[(size_t)i * cols + j] * x[j]);
        }
        worst = fmax(worst, fabs(y[i] - ref));
        scale = fmax(scale, mag);
    }
    /* 8-bit activations: error up to ~1% of the sum of magnitudes */
    if (!(worst <= 0.02 * scale + 1e-6)) {
        st = lq_fail(err, LLMQ_ERR_FORMAT, "%s GEMV check failed: error %g of %g", type_name, worst, scale);
        goto done;
    }
    if (cold) memset(evict, 1, EVICT_BYTES);
    volatile uint64_t sink = 0;
    for (int r = 0; r <= reps; r++) {
        if (cold) sink += lq_read_sum(evict, EVICT_BYTES, n_threads); /* the same team, left awake */
        double t0 = lq_now();
        lq_qmatmul(y, x, &W, 1, n_threads, mm);
        if (r > 0) t[r - 1] = lq_now() - t0;
    }
    (void)sink;
    double tg = median(t, reps);
    res->gemv_gws = n / tg / 1e9;
    res->gemv_gbs = (double)W.row_bytes * rows / tg / 1e9;
done:
    lq_qweight_free(&W);
    lq_free_aligned(w);
    lq_free_aligned(x);
    lq_free_aligned(y);
    lq_free_aligned(q);
    lq_free_aligned(mm);
    lq_free_aligned(evict);
    return st;
}

/* text the encoder benchmark tokenizes (repeated up to the length asked) */
static const char bench_text[] =
    "The tower is 324 metres tall, about the same height as an 81-storey building, and the tallest structure "
    "in Paris. Its base is square, measuring 125 metres on each side. During its construction, the Eiffel "
    "Tower surpassed the Washington Monument to become the tallest man-made structure in the world, a title "
    "it held for 41 years until the Chrysler Building in New York City was finished in 1930. ";

llmq_status llmq_bench_embed(llmq_model *m, int batch, int n_tokens, int n_threads, int reps, double *sec_per_batch,
                             llmq_error *err) {
    *sec_per_batch = 0;
    LQ_CHECK(m->bert, err, LLMQ_ERR_UNSUPPORTED, "bench embed needs an encoder (BERT) model");
    const lq_bert_hparams *hp = lq_bert_hparams_of(m->bert);
    LQ_CHECK(batch > 0 && n_tokens >= 2 && n_tokens <= hp->n_pos && reps > 0 && reps <= MAX_REPS, err, LLMQ_ERR_ARG,
             "bench embed: batch >= 1, 2 <= tokens <= %d and reps 1..%d", hp->n_pos, MAX_REPS);
    size_t rep = (size_t)n_tokens / 50 + 1, len = rep * (sizeof bench_text - 1), n = 0;
    char *text = malloc(len + 1);
    int32_t *ids = malloc((len + 3) * sizeof *ids), *toks = malloc((size_t)batch * n_tokens * sizeof *toks);
    float *out = malloc((size_t)batch * hp->n_embd * sizeof *out);
    llmq_status st = text && ids && toks && out ? LLMQ_OK : lq_fail(err, LLMQ_ERR_NOMEM, "out of memory");
    if (st == LLMQ_OK) {
        for (size_t i = 0; i < rep; i++) memcpy(text + i * (sizeof bench_text - 1), bench_text, sizeof bench_text - 1);
        text[len] = 0;
        st = llmq_tokenize(m, text, len, 1, ids, len + 3, &n);
    }
    if (st == LLMQ_OK && n < (size_t)n_tokens) st = lq_fail(err, LLMQ_ERR_ARG, "bench text too short");
    if (st == LLMQ_OK) {
        ids[n_tokens - 1] = ids[n - 1]; /* [SEP] */
        for (int b = 0; b < batch; b++) memcpy(toks + (size_t)b * n_tokens, ids, (size_t)n_tokens * sizeof *ids);
    }
    double t[MAX_REPS];
    for (int r = 0; st == LLMQ_OK && r <= reps; r++) {
        double t0 = lq_now();
        st = lq_bert_embed_batch(m->bert, toks, NULL, batch, n_tokens, out, n_threads, err);
        if (r > 0) t[r - 1] = lq_now() - t0; /* the first run is a warm-up */
    }
    if (st == LLMQ_OK) *sec_per_batch = median(t, reps);
    free(text);
    free(ids);
    free(toks);
    free(out);
    return st;
}
