/* Linear layers over quantized or F32 weights (see qmatmul.h). */
#include "kernels/qmatmul.h"
#include "kernels/w8a8.h"

#include "core/lq.h"
#include "kernels/matmul.h"
#include "kernels/planar.h"
#include "quant/types.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* The kernel reads planar rows: an owned copy, packed (planar.h). */
static bool pack_planar(lq_qweight *w) {
    w->owned = lq_planar_packed(w->dot->planar, w->data, w->row_bytes, w->rows);
    w->data = w->owned;
    return w->owned != NULL;
}

bool lq_qweight_init(lq_qweight *w, uint32_t type, const void *data, int rows, int cols, bool keep_quantized) {
    memset(w, 0, sizeof *w);
    const lq_type_traits *tr = lq_type_get(type);
    size_t rb = lq_row_size(type, cols);
    if (!tr || !rb) return false;
    const lq_qdot_info *dot = type == LQ_TYPE_F32 ? NULL : lq_qdot_get(type);
    /* (a kernel whose activation blocks do not divide the rows cannot run them) */
    size_t act_bytes = dot ? lq_row_size(dot->act_type, cols) : 0;
    if (keep_quantized && dot && act_bytes) {
        *w = (lq_qweight){type, rows, cols, rb, data, NULL, dot, act_bytes, NULL};
        return !dot->planar || pack_planar(w);
    }
    if (keep_quantized && type == LQ_TYPE_F32) { /* F32 rows run in place (no copy of the mapped file) */
        *w = (lq_qweight){type, rows, cols, rb, data, NULL, NULL, 0, NULL};
        return true;
    }
    if (!tr->to_float) return false;
    float *f = lq_alloc_aligned((size_t)rows * cols * sizeof(float));
    if (!f) return false;
    for (int r = 0; r < rows; r++) tr->to_float((const char *)data + (size_t)r * rb, f + (size_t)r * cols, cols);
    lq_qweight_from_f32(w, f, rows, cols);
    return true;
}

void lq_qweight_from_f32(lq_qweight *w, float *data, int rows, int cols) {
    *w = (lq_qweight){LQ_TYPE_F32, rows, cols, (size_t)cols * sizeof(float), data, data, NULL, 0, NULL};
}

void lq_qweight_free(lq_qweight *w) {
    if (w->w8) lq_w8a8_free(w->w8);
    free(w->w8);
    lq_free_aligned(w->owned);
    memset(w, 0, sizeof *w);
}

void lq_qweight_row(const lq_qweight *w, int r, float *out) {
    const uint8_t *row = (const uint8_t *)w->data + (size_t)r * w->row_bytes;
    const lq_to_float_fn to_float = lq_type_get(w->type)->to_float;
    const lq_planar *pl = w->dot ? w->dot->planar : NULL;
    if (!pl || pl->to_float) { /* GGUF rows, or planar ones the plan dequantizes itself */
        (pl ? pl->to_float : to_float)(row, out, w->cols);
        return;
    }
    /* planar: back to GGUF blocks, a few KiB at a time */
    uint8_t buf[4096];
    const size_t bs = lq_planar_block_bytes(pl), nb = w->row_bytes / bs, step = sizeof buf / bs;
    const int vpb = lq_type_get(w->type)->blck_size;
    for (size_t b0 = 0; b0 < nb; b0 += step) {
        const size_t k = nb - b0 < step ? nb - b0 : step;
        lq_planar_unpack(pl, buf, row, nb, b0, k);
        to_float(buf, out + b0 * (size_t)vpb, (int64_t)(k * (size_t)vpb));
    }
}

/* x (n floats) -> one activation row of type t */
static void quantize_act(uint32_t t, const float *x, void *xq, int n) {
    if (t == LQ_TYPE_F32) memcpy(xq, x, (size_t)n * sizeof(float));
    else lq_type_get(t)->from_float_ref(x, xq, n);
}

/* rows per work item: each thread streams its own part of W; the quantized
 * kernels prepare the activation row once per call, so they get more */
enum { CHUNK = 16, QCHUNK = 32 };

static int act_slot(uint32_t t) {
    switch (t) {
    case LQ_TYPE_Q8_0: return 1;
    case LQ_TYPE_Q8_1: return 2;
    case LQ_TYPE_Q8_K: return 3;
    default: return 0;
    }
}

size_t lq_qact_slot_bytes(int n) { return (size_t)n * sizeof(float) + 4096; }

void lq_qact_prepare(lq_qact *a, const float *x, const lq_qweight *const *ws, int nw) {
    bool done[LQ_QACT_SLOTS] = {false};
    a->x = x;
    for (int i = 0; i < nw; i++) {
        if (!ws[i]->dot) continue;
        int s = act_slot(ws[i]->dot->act_type);
        if (!done[s]) quantize_act(ws[i]->dot->act_type, x, a->slot[s], ws[i]->cols);
        done[s] = true;
    }
}

void lq_qgemv_team(float *const *ys, const lq_qweight *const *ws, int nw, const lq_qact *a) {
    int first[9], total = 0; /* chunk index where each matrix starts */
    for (int i = 0; i < nw && i < 8; i++) {
        int ch = ws[i]->dot ? QCHUNK : CHUNK;
        first[i] = total, total += (ws[i]->rows + ch - 1) / ch;
    }
    first[LQ_MIN(nw, 8)] = total;
    /* each thread's contiguous share of the chunks, as schedule(static)
     * deals them; one kernel call per matrix in it, so a kernel prepares
     * the activation row (repacks, scales) once per GEMV, not per chunk */
    const int nth = omp_get_num_threads(), tid = omp_get_thread_num();
    const int per = total / nth, extra = total % nth;
    const int c0 = tid * per + LQ_MIN(tid, extra), c1 = c0 + per + (tid < extra);
    lq_gemv_f32_fn gemv = lq_kernels_get()->gemv_f32;
    for (int i = 0; i < nw && i < 8; i++) {
        const int lo = LQ_MAX(c0, first[i]), hi = LQ_MIN(c1, first[i + 1]);
        if (lo >= hi) continue;
        const lq_qweight *W = ws[i];
        int ch = W->dot ? QCHUNK : CHUNK, r0 = (lo - first[i]) * ch, r1 = LQ_MIN((hi - first[i]) * ch, W->rows);
        if (W->dot) W->dot->rows(ys[i], W->data, W->row_bytes, a->slot[act_slot(W->dot->act_type)], W->cols, r0, r1);
        else gemv(ys[i], a->x, W->data, W->cols, r0, r1);
    }
    #pragma omp barrier
}

/* One row outside any parallel region: a team of its own runs the same
 * prepare-then-share steps as generation (scratch holds the activation row). */
static void qgemv(float *y, const float *x, const lq_qweight *W, int n_threads, void *scratch) {
    int ch = W->dot ? QCHUNK : CHUNK, n_chunks = (W->rows + ch - 1) / ch;
    int nt = (size_t)W->rows * W->row_bytes < 32768 ? 1 : LQ_MIN(n_threads, n_chunks);
    lq_qact a = {x, {scratch, scratch, scratch, scratch}}; /* one matrix: one slot in use */
    #pragma omp parallel num_threads(nt)
    {
        #pragma omp single
        lq_qact_prepare(&a, x, &W, 1);
        lq_qgemv_team(&y, &W, 1, &a);
    }
}

/* Few rows: one quantized GEMV per row, each row read from cache after the
 * first. Beyond this, dequantized tiles through sgemm win. */
enum { GEMV_ROWS_MAX = 4 };

/* Rows of W per sgemm tile: about 1 MiB of floats, at least 32 rows. */
static int tile_rows(int rows, int cols) { return LQ_MIN(rows, LQ_MAX(32, (1 << 16) / cols * 4)); }

size_t lq_qmatmul_scratch_bytes(int max_cols, int n_threads) {
    /* >= tile_rows() * cols for any rows, plus the 15 rows of rounding tiles up to 16 */
    size_t tile_floats = LQ_MAX((size_t)32 * max_cols, (size_t)1 << 18) + (size_t)16 * max_cols;
    return lq_qact_slot_bytes(max_cols) + (size_t)LQ_MAX(n_threads, 1) * tile_floats * sizeof(float);
}

/* tiles per matrix a multiple of this where the rows allow: two cores' worth */
enum { TILE_MULT = 2 };

/* How one matrix's rows split into sgemm tiles: about 1 MiB of floats each
 * (at least 32 rows), multiples of 16 rows; `mult` tiles or a multiple of
 * it where the rows allow, so that no thread idles. */
static int split_tiles(const lq_qweight *W, int mult, int *tile) {
    int t = tile_rows(W->rows, W->cols), n_tiles = (W->rows + t - 1) / t;
    n_tiles = LQ_MIN((n_tiles + mult - 1) / mult * mult, (W->rows + 15) / 16);
    *tile = ((W->rows + n_tiles - 1) / n_tiles + 15) / 16 * 16;
    return (W->rows + *tile - 1) / *tile;
}

/* Ys[i] = X . Ws[i]^T for n > GEMV_ROWS_MAX rows, every matrix's row tiles
 * shared out among our threads in one team, each multiplied by a
 * single-threaded sgemm into its columns of Y (quantized tiles dequantized
 * first into the thread's part of the scratch). OpenBLAS's own threads would
 * spin-yield against ours on these 2-core machines. */
static void tiles_sgemm(float *const *Ys, const float *X, const lq_qweight *const *Ws, int nw, int n, int n_threads,
                        void *scratch) {
    int tile[8], first[9] = {0}, cols = Ws[0]->cols;
    /* The tiles depend on the shapes only, not on the thread count: sgemm's
     * edge kernels sum in another order than its main ones (OpenBLAS's Zen /
     * Haswell kernels do), so a tile shape that moved with the threads gave
     * 1 and 2 threads different bits. One matrix: a multiple of TILE_MULT
     * tiles; several: their sum, else each matrix by itself. */
    for (int i = 0; i < nw; i++) first[i + 1] = first[i] + split_tiles(Ws[i], nw == 1 ? TILE_MULT : 1, &tile[i]);
    if (first[nw] % TILE_MULT)
        for (int i = 0; i < nw; i++) first[i + 1] = first[i] + split_tiles(Ws[i], TILE_MULT, &tile[i]);
    int total = first[nw], nt = LQ_MIN(n_threads, total), max_tile = 0;
    for (int i = 0; i < nw; i++) max_tile = LQ_MAX(max_tile, tile[i]);
    float *bufs = (float *)((char *)scratch + lq_qact_slot_bytes(cols));
    lq_blas_threads(1);
    #pragma omp parallel num_threads(nt)
    {
        float *buf = bufs + (size_t)omp_get_thread_num() * max_tile * cols;
        #pragma omp for schedule(static)
        for (int c = 0; c < total; c++) {
            int i = 0;
            while (c >= first[i + 1]) i++;
            const lq_qweight *W = Ws[i];
            int r0 = (c - first[i]) * tile[i], tr = LQ_MIN(tile[i], W->rows - r0);
            const float *wt = (const float *)W->data + (size_t)r0 * cols;
            if (W->dot) { /* quantized: dequantize the tile */
                for (int r = 0; r < tr; r++) lq_qweight_row(W, r0 + r, buf + (size_t)r * cols);
                wt = buf;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, tr, cols, 1.0f, X, cols, wt, cols, 0.0f,
                        Ys[i] + r0, W->rows);
        }
    }
}

void lq_qmatmul(float *Y, const float *X, const lq_qweight *W, int n, int n_threads, void *scratch) {
    if (n_threads <= 0) n_threads = lq_n_cpus();
    if (W->w8 && lq_w8a8_forward(W->w8, Y, X, n, NULL, n_threads)) return; /* else (out of memory) the float path */
    if (W->dot && n <= GEMV_ROWS_MAX) {
        for (int t = 0; t < n; t++) qgemv(Y + (size_t)t * W->rows, X + (size_t)t * W->cols, W, n_threads, scratch);
        return;
    }
    if (n == 1) {
        lq_matmul_f32(Y, X, W->data, 1, W->cols, W->rows, n_threads);
        return;
    }
    tiles_sgemm(&Y, X, &W, 1, n, n_threads, scratch);
}

void lq_qmatmul_multi(float *const *Ys, const float *X, const lq_qweight *const *Ws, int nw, int n, int n_threads,
                      void *scratch) {
    if (n_threads <= 0) n_threads = lq_n_cpus();
    bool together = nw >= 1 && nw <= 8 && n > GEMV_ROWS_MAX;
    for (int i = 0; i < nw && together; i++) together = !Ws[i]->w8 && Ws[i]->cols == Ws[0]->cols;
    if (!together) {
        for (int i = 0; i < nw; i++) lq_qmatmul(Ys[i], X, Ws[i], n, n_threads, scratch);
        return;
    }
    tiles_sgemm(Ys, X, Ws, nw, n, n_threads, scratch);
}
