/* llmq's GEMV beside ggml's (llama.cpp's CPU backend), alternated call by
 * call in one process, so the host's drift hits both alike.
 *
 * Not part of the default build: scripts/gemv_vs_ggml.sh compiles
 * it against the headers and libraries of llama-cpp-python in .peers.
 *
 * Per type, one float matrix (rows x cols, deterministic) is quantized by
 * each engine (llmq: lq_rtn_quantize, as `llmq quantize`; ggml:
 * ggml_quantize_chunk), one F32 activation row goes in, each engine turns
 * it into its own activation type as it does in generation. Per rep: a
 * 1 GiB read-sum (every byte, eval/read_sum.h: the read bandwidth, and it
 * evicts both matrices), then one GEMV of each engine, the order swapped
 * every rep; each GEMV reads its matrix from DRAM, the other's having gone
 * through the caches in between. ggml runs its graph on a persistent
 * thread pool (ggml_threadpool_new) as llama.cpp does, resumed before its
 * timed call and paused after (quiet()); OpenMP's team is woken by an
 * empty parallel region before llmq's timed call; llmq's call is
 * lq_qmatmul, as `llmq bench` and the models. Reported: medians of GB/s
 * (the matrix's bytes per second), of the per-rep shares of that rep's read
 * bandwidth, and of the per-rep ratios llmq / ggml; the two outputs are
 * checked against each other first.
 *
 * usage: gemv_vs_ggml TYPES [ROWS [COLS [REPS [THREADS]]]]   (16384 4096 15 2) */
#include "algo/rtn.h"
#include "core/lq.h"
#include "eval/synth_weights.h"
#include "kernels/qmatmul.h"
#include "quant/types.h"

#include "bench_util.h"

#include <ctype.h>
#include <math.h>

#include "ggml-cpu.h"
#include "ggml.h"

enum { MAX_REPS = 64 };

/* ggml's type of an llmq type name (ggml names them in lower case, "q2_K") */
static int ggml_type_of(const char *name) {
    for (int t = 0; t < GGML_TYPE_COUNT; t++) {
        const char *g = ggml_type_name((enum ggml_type)t);
        if (!g || strlen(g) != strlen(name)) continue;
        size_t i = 0;
        while (g[i] && tolower((unsigned char)g[i]) == tolower((unsigned char)name[i])) i++;
        if (!g[i] && ggml_row_size((enum ggml_type)t, 256) > 0) return t;
    }
    return -1;
}

/* Neither engine's idle threads may spin while the other runs (two
 * vCPUs: a spinning thread takes a worker's core). ggml's pool is paused
 * between its calls (its threads sleep); OpenMP's threads spin a while
 * after a parallel region (the read-sum's, llmq's), then sleep: 5 ms. */
static void quiet(void) {
    const struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
}

typedef struct {
    struct ggml_context *ctx;
    struct ggml_cgraph *graph;
    struct ggml_cplan plan;
    struct ggml_tensor *W, *x, *y;
} ggml_gemv;

static int ggml_setup(ggml_gemv *g, int gt, const float *w, const float *x, int rows, int cols,
                      struct ggml_threadpool *pool, int nt) {
    const size_t wbytes = ggml_row_size((enum ggml_type)gt, cols) * (size_t)rows;
    struct ggml_init_params ip = {wbytes + ((size_t)64 << 20), NULL, false};
    g->ctx = ggml_init(ip);
    if (!g->ctx) return 0;
    g->W = ggml_new_tensor_2d(g->ctx, (enum ggml_type)gt, cols, rows);
    g->x = ggml_new_tensor_2d(g->ctx, GGML_TYPE_F32, cols, 1);
    if (gt == GGML_TYPE_F32) memcpy(g->W->data, w, wbytes);
    else ggml_quantize_chunk((enum ggml_type)gt, w, g->W->data, 0, rows, cols, NULL);
    memcpy(g->x->data, x, (size_t)cols * sizeof(float));
    g->y = ggml_mul_mat(g->ctx, g->W, g->x);
    g->graph = ggml_new_graph(g->ctx);
    ggml_build_forward_expand(g->graph, g->y);
    g->plan = ggml_graph_plan(g->graph, nt, pool);
    g->plan.work_data = g->plan.work_size ? malloc(g->plan.work_size) : NULL;
    return !g->plan.work_size || g->plan.work_data;
}

static void ggml_teardown(ggml_gemv *g) {
    free(g->plan.work_data);
    ggml_free(g->ctx);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: gemv_vs_ggml TYPES [ROWS [COLS [REPS [THREADS]]]]\n");
        return 2;
    }
    const int rows = argc > 2 ? atoi(argv[2]) : 16384, cols = argc > 3 ? atoi(argv[3]) : 4096;
    const int reps = argc > 4 ? atoi(argv[4]) : 15, nt = argc > 5 ? atoi(argv[5]) : 2;
    if (rows < 1 || cols < 256 || cols % 256 || reps < 1 || reps > MAX_REPS || nt < 1) {
        fprintf(stderr, "gemv_vs_ggml: bad sizes (COLS a multiple of 256, REPS 1..%d)\n", MAX_REPS);
        return 2;
    }
    ggml_cpu_init();
    struct ggml_threadpool_params tpp = ggml_threadpool_params_default(nt);
    struct ggml_threadpool *pool = ggml_threadpool_new(&tpp);
    if (pool) ggml_threadpool_pause(pool);
    const size_t nbw = (size_t)1 << 30;
    uint8_t *big = lq_alloc_aligned(nbw);
    float *w = lq_alloc_aligned((size_t)rows * cols * sizeof(float)), *x = lq_alloc_aligned((size_t)cols * sizeof(float));
    float *yl = lq_alloc_aligned((size_t)rows * sizeof(float));
    void *mm = lq_alloc_aligned(lq_qmatmul_scratch_bytes(cols, nt));
    if (!pool || !big || !w || !x || !yl || !mm) {
        fprintf(stderr, "gemv_vs_ggml: out of memory\n");
        return 1;
    }
    memset(big, 1, nbw);
    lq_synth_weights(w, (size_t)rows * cols); /* as llmq bench's */
    for (int i = 0; i < cols; i++) x[i] = sinf(0.37f * (float)i);
    printf("isa %s, %d thread(s), %d x %d, %d reps, each: 1 GiB read-sum, then both engines' GEMV (order swapped per rep)\n",
           llmq_isa_name(), nt, rows, cols, reps);
    printf("%-7s %6s | %10s %5s | %10s %5s | %6s %13s | %9s\n", "type", "MB", "llmq GB/s", "%", "ggml GB/s", "%",
           "ratio", "ratio range", "read GB/s");
    int status = 0;
    for (const char *p = argv[1]; *p;) {
        char name[32];
        const size_t len = strcspn(p, ",");
        snprintf(name, sizeof name, "%.*s", (int)(len < 31 ? len : 31), p);
        p += len + (p[len] == ',');
        uint32_t t;
        const int gt = ggml_type_of(name);
        if (!lq_rtn_type_from_name(name, &t) || gt < 0) {
            printf("%-7s (not a type of both engines)\n", name);
            status = 1;
            continue;
        }
        const size_t rb = lq_row_size(t, cols);
        void *q = lq_alloc_aligned(rb * rows);
        lq_err err = {0};
        lq_qweight W = {0};
        ggml_gemv g = {0};
        if (!q || lq_rtn_quantize(w, rows, cols, t, q, nt, &err) != LLMQ_OK || !lq_qweight_init(&W, t, q, rows, cols, true) ||
            !ggml_setup(&g, gt, w, x, rows, cols, pool, nt)) {
            fprintf(stderr, "gemv_vs_ggml: %s: cannot set up (%s)\n", name, err.msg);
            return 1;
        }
        /* warm-up, and both outputs against each other (each engine
         * rounds its activations to 8 bits or keeps them float) */
        lq_qmatmul(yl, x, &W, 1, nt, mm);
        ggml_threadpool_resume(pool);
        ggml_graph_compute(g.graph, &g.plan);
        ggml_threadpool_pause(pool);
        const float *yg = (const float *)g.y->data;
        double worst = 0, scale = 0;
        for (int i = 0; i < rows; i++) worst = fmax(worst, fabs((double)yl[i] - yg[i])), scale = fmax(scale, fabs((double)yg[i]));
        if (!(worst <= 0.05 * scale + 1e-6)) {
            printf("%-7s outputs differ: %g of %g\n", name, worst, scale);
            status = 1;
        }
        double tl[MAX_REPS], tg[MAX_REPS], bw[MAX_REPS], sl[MAX_REPS], sg[MAX_REPS], ratio[MAX_REPS];
        const double lbytes = (double)rb * rows, gbytes = (double)ggml_nbytes(g.W);
        for (int r = 0; r < reps; r++) {
            bw[r] = bench_read_bw(big, nbw, nt, 1);
            for (int k = 0; k < 2; k++) {
                quiet();
                if ((k + r) % 2 == 0) {
                    /* OpenMP's threads woken before the clock starts, as
                     * ggml's by its resume: both teams start awake */
                    #pragma omp parallel num_threads(nt)
                    { __asm__ volatile("" ::: "memory"); }
                    const double t0 = now();
                    lq_qmatmul(yl, x, &W, 1, nt, mm);
                    tl[r] = now() - t0;
                } else {
                    ggml_threadpool_resume(pool); /* its threads poll for work again, as in generation */
                    const double t0 = now();
                    ggml_graph_compute(g.graph, &g.plan);
                    tg[r] = now() - t0;
                    ggml_threadpool_pause(pool);
                }
            }
            sl[r] = lbytes / tl[r] / 1e9 / bw[r], sg[r] = gbytes / tg[r] / 1e9 / bw[r], ratio[r] = tg[r] / tl[r];
        }
        const double rmed = bench_median(ratio, reps);
        printf("%-7s %6.1f | %10.1f %4.0f%% | %10.1f %4.0f%% | %5.2fx %5.2f-%5.2fx | %9.1f\n", name, lbytes / 1e6,
               lbytes / bench_median(tl, reps) / 1e9, 100 * bench_median(sl, reps), gbytes / bench_median(tg, reps) / 1e9,
               100 * bench_median(sg, reps), rmed, ratio[0], ratio[reps - 1], bench_median(bw, reps));
        fflush(stdout);
        ggml_teardown(&g);
        lq_qweight_free(&W);
        lq_free_aligned(q);
    }
    ggml_threadpool_free(pool);
    lq_free_aligned(big), lq_free_aligned(w), lq_free_aligned(x), lq_free_aligned(yl), lq_free_aligned(mm);
    return status;
}
