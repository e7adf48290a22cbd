/* W8A8 products: weight packing, activation quantization, and the threaded
 * driver that shares (row chunk, column panel) tiles out to the per-ISA tile
 * functions. */
#include "kernels/i8mm.h"

#include "core/cpu.h"
#include "core/lq.h"
#include "kernels/matmul.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- weights */

lq_i8_packed *lq_i8_pack(const void *i8ch_rows, int rows, int cols) {
    if (rows < 1 || cols < 1 || cols > LQ_I8_MAX_K) return NULL;
    lq_i8_packed *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->rows = rows;
    p->cols = cols;
    p->kp = (cols + 3) / 4 * 4;
    p->n_blocks = (rows + 15) / 16;
    p->n_panels = (p->n_blocks + 3) / 4;
    const size_t padded_rows = (size_t)p->n_blocks * 16;
    p->w = lq_alloc_aligned(padded_rows * (size_t)p->kp);
    p->scale = lq_alloc_aligned(padded_rows * sizeof *p->scale);
    p->rowsum = lq_alloc_aligned(padded_rows * sizeof *p->rowsum);
    if (!p->w || !p->scale || !p->rowsum) {
        lq_i8_pack_free(p);
        return NULL;
    }
    memset(p->w, 0, padded_rows * (size_t)p->kp);
    memset(p->scale, 0, padded_rows * sizeof *p->scale);
    memset(p->rowsum, 0, padded_rows * sizeof *p->rowsum);
    const size_t row_bytes = 4 + (size_t)cols;
    for (int n = 0; n < rows; n++) {
        const uint8_t *row = (const uint8_t *)i8ch_rows + (size_t)n * row_bytes;
        memcpy(&p->scale[n], row, 4);
        const int8_t *q = (const int8_t *)(row + 4);
        int32_t sum = 0;
        for (int k = 0; k < cols; k++) {
            const int8_t c = q[k] == -128 ? -127 : q[k];
            p->w[lq_i8_packed_index(p, n, k)] = c;
            sum += c;
        }
        p->rowsum[n] = sum;
    }
    return p;
}

void lq_i8_pack_free(lq_i8_packed *p) {
    if (!p) return;
    lq_free_aligned(p->w);
    lq_free_aligned(p->scale);
    lq_free_aligned(p->rowsum);
    free(p);
}

/* --------------------------------------------------------- activations */

bool lq_i8_act_alloc(lq_i8_act *a, int rows, int cols) {
    memset(a, 0, sizeof *a);
    if (rows < 1 || cols < 1 || cols > LQ_I8_MAX_K) return false;
    a->rows = rows;
    a->cols = cols;
    a->kp = (cols + 3) / 4 * 4;
    a->q = lq_alloc_aligned((size_t)rows * (size_t)a->kp);
    a->scale = lq_alloc_aligned((size_t)rows * sizeof *a->scale);
    if (!a->q || !a->scale) {
        lq_i8_act_free(a);
        return false;
    }
    memset(a->q, 0, (size_t)rows * (size_t)a->kp);
    return true;
}

void lq_i8_act_free(lq_i8_act *a) {
    lq_free_aligned(a->q);
    lq_free_aligned(a->scale);
    memset(a, 0, sizeof *a);
}

/* nearbyint (ties to even) clamped to [-127, 127]; NaN -> 0 */
static int8_t code(float v) {
    if (!(v == v)) return 0;
    v = nearbyintf(v);
    if (v < -127.0f) return -127;
    if (v > 127.0f) return 127;
    return (int8_t)v;
}

static void quant_row(int8_t *q, const float *x, int cols, float inv) {
    for (int k = 0; k < cols; k++) q[k] = code(x[k] * inv);
}

void lq_i8_quant_dynamic(lq_i8_act *a, const float *X) {
    for (int t = 0; t < a->rows; t++) {
        const float *x = X + (size_t)t * a->cols;
        float amax = 0.0f;
        for (int k = 0; k < a->cols; k++)
            if (fabsf(x[k]) > amax) amax = fabsf(x[k]);
        const float s = amax / 127.0f;
        a->scale[t] = s;
        quant_row(a->q + (size_t)t * a->kp, x, a->cols, s != 0.0f ? 1.0f / s : 0.0f);
    }
}

void lq_i8_quant_static(lq_i8_act *a, const float *X, float scale) {
    const bool ok = scale > 0.0f;
    const float inv = ok ? 1.0f / scale : 0.0f;
    for (int t = 0; t < a->rows; t++) {
        a->scale[t] = ok ? scale : 0.0f;
        quant_row(a->q + (size_t)t * a->kp, X + (size_t)t * a->cols, a->cols, inv);
    }
}

/* -------------------------------------------------------------- driver */

bool lq_i8_isa_available(int isa) {
    const lq_cpu_features *f = lq_cpu();
    switch (isa) {
    case 0: return true;
    case 1: return f->avx2;
    case 2: return f->avx2 && f->avx512f && f->avx512bw && f->avx512vnni;
    default: return false;
    }
}

int lq_i8_isa(void) {
    const int level = lq_kernels_get()->level;
    for (int isa = level; isa > 0; isa--)
        if (lq_i8_isa_available(isa)) return isa;
    return 0;
}

/* row t of X into the AVX-512 layout (i8mm.h), x + 128 as an unsigned
 * byte: the same bits as x ^ 0x80 */
static void interleave_row(uint8_t *xu, const lq_i8_act *X, int t) {
    const int8_t *q = X->q + (size_t)t * X->kp;
    uint8_t *dst = xu + (size_t)(t / LQ_I8_XROWS) * LQ_I8_XROWS * X->kp + (size_t)(t % LQ_I8_XROWS) * 4;
    for (int g = 0; g < X->kp / 4; g++) { /* 4 codes as one word */
        uint32_t w;
        memcpy(&w, q + 4 * g, 4);
        w ^= 0x80808080u;
        memcpy(dst + (size_t)g * 4 * LQ_I8_XROWS, &w, 4);
    }
}

/* The interleaved activations of the calling thread: kept between calls and
 * only grown, because a fresh 100-800 KB buffer per GEMM came back from the
 * kernel as zeroed pages each time (~5% of a MiniLM forward in page faults). */
static uint8_t *interleave_buffer(size_t bytes) {
    static _Thread_local uint8_t *buf;
    static _Thread_local size_t cap;
    if (bytes > cap) {
        lq_free_aligned(buf);
        cap = 0;
        if (!(buf = lq_alloc_aligned(bytes))) return NULL;
        cap = bytes;
    }
    return buf;
}

bool lq_i8_gemm_isa(int isa, float *Y, int32_t *acc, const lq_i8_act *X, const lq_i8_packed *W,
                    const float *bias, int n_threads) {
    static const lq_i8_tile_fn tiles[3] = {lq_i8_tile_ref, lq_i8_tile_avx2, lq_i8_tile_avx512};
    if (!lq_i8_isa_available(isa) || X->cols != W->cols) return false;
    const int nt = n_threads > 0 ? n_threads : lq_n_cpus();
    const int T = X->rows;
    uint8_t *xu = NULL;
    if (isa == 2) {
        xu = interleave_buffer((size_t)(T + LQ_I8_XROWS - 1) / LQ_I8_XROWS * LQ_I8_XROWS * (size_t)X->kp);
        if (!xu) return false;
    }
    /* Row chunks of at most LQ_I8_MC; when there are too few panels to go
     * round, smaller chunks (multiples of 6 rows) so that every thread works. */
    int mc = LQ_I8_MC;
    if (W->n_panels < 2 * nt && T > LQ_I8_XROWS) {
        const int want = (2 * nt + W->n_panels - 1) / W->n_panels;
        const int per = ((T + want - 1) / want + LQ_I8_XROWS - 1) / LQ_I8_XROWS * LQ_I8_XROWS;
        if (per < mc) mc = per;
    }
    const int n_chunks = (T + mc - 1) / mc, n_items = n_chunks * W->n_panels;
    const lq_i8_job job = {Y, acc, X, xu, W, bias};
    const lq_i8_tile_fn tile = tiles[isa];
    #pragma omp parallel num_threads(nt)
    {
        if (xu) {
            #pragma omp for schedule(static)
            for (int t = 0; t < T; t++) interleave_row(xu, X, t);
        }
        /* item i: chunk i / n_panels, panel i % n_panels, so consecutive items
         * of one thread share their rows of X */
        #pragma omp for schedule(static)
        for (int i = 0; i < n_items; i++) {
            const int t0 = i / W->n_panels * mc;
            tile(&job, t0, LQ_MIN(T, t0 + mc), i % W->n_panels);
        }
    }
    return true;
}

bool lq_i8_gemm(float *Y, const lq_i8_act *X, const lq_i8_packed *W, const float *bias, int n_threads) {
    return lq_i8_gemm_isa(lq_i8_isa(), Y, NULL, X, W, bias, n_threads);
}
