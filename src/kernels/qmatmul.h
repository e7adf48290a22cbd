/* Linear layers over weights of any storage type.
 *
 * A weight matrix (rows = outputs, cols = inputs) is kept in its quantized
 * type when a qdot kernel exists for it; one activation row is then
 * quantized to the kernel's activation type and every weight row dotted with
 * it (generation). Prompts (many rows) dequantize tiles of the weights to F32
 * and multiply with BLAS, which amortizes the dequantization over the rows.
 * Types without a kernel are converted to F32 at load. */
#ifndef LQ_QMATMUL_H
#define LQ_QMATMUL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/qdot.h"

typedef struct lq_qweight {
    uint32_t type;           /* lq_type of data */
    int rows, cols;
    size_t row_bytes;
    const void *data;        /* rows * row_bytes; planar rows (kernels/planar.h) when dot->planar */
    void *owned;             /* what to free (NULL: data belongs to a mapped file) */
    const lq_qdot_info *dot; /* NULL when type is F32 */
    size_t act_bytes;        /* one activation row in dot->act_type */
    struct lq_w8a8 *w8;      /* W8A8 files: the INT8 x INT8 path (owned), or NULL */
} lq_qweight;

/* Wraps rows x cols values of type at data. Keeps the type (and the pointer,
 * not a copy; a packed copy when the kernel reads planar rows) when it has a
 * kernel and keep_quantized is set; otherwise converts to an owned F32 copy. Returns false when out of memory or the
 * type cannot be converted. */
bool lq_qweight_init(lq_qweight *w, uint32_t type, const void *data, int rows, int cols, bool keep_quantized);
/* An owned F32 matrix handed over (freed by lq_qweight_free). */
void lq_qweight_from_f32(lq_qweight *w, float *data, int rows, int cols);
void lq_qweight_free(lq_qweight *w);
/* F32 view of the weights, or NULL when they are quantized. */
static inline float *lq_qweight_f32(const lq_qweight *w) { return w->dot ? NULL : (float *)w->data; }

/* Row r as floats (embedding lookup). */
void lq_qweight_row(const lq_qweight *w, int r, float *out);

/* Bytes of the scratch lq_qmatmul needs for matrices of up to max_cols
 * inputs with up to n_threads threads (the caller allocates it once, so a
 * product never fails for lack of memory). */
size_t lq_qmatmul_scratch_bytes(int max_cols, int n_threads);

/* Y (n x rows) = X (n x cols) . W^T. n_threads <= 0: all cores (then the
 * scratch must have been sized for lq_n_cpus()). */
void lq_qmatmul(float *Y, const float *X, const lq_qweight *W, int n, int n_threads, void *scratch);
/* Ys[i] = X . Ws[i]^T for nw matrices reading the same X (q, k, v; gate, up):
 * one team over all their tiles, so that small matrices (k, v) need not be
 * cut as finely as alone to keep every thread busy. Each matrix's bytes as
 * lq_qmatmul gives them. */
void lq_qmatmul_multi(float *const *Ys, const float *X, const lq_qweight *const *Ws, int nw, int n, int n_threads,
                      void *scratch);

/* One input row x quantized once for every activation type a set of
 * weights needs (generation: q/k/v share x, as do gate/up). */
enum { LQ_QACT_SLOTS = 4 }; /* F32, Q8_0, Q8_1, Q8_K */
typedef struct lq_qact {
    const float *x;
    void *slot[LQ_QACT_SLOTS]; /* each holds the row in one activation type */
} lq_qact;
/* Bytes one slot needs for rows of up to n values. */
size_t lq_qact_slot_bytes(int n);
/* Quantizes x (the ws' cols values) into the slots the nw weights need. */
void lq_qact_prepare(lq_qact *a, const float *x, const lq_qweight *const *ws, int nw);

/* ys[i] = ws[i] x for nw matrices sharing one prepared input, inside an
 * enclosing OpenMP parallel region: the team shares out the row chunks of all
 * of them at once (one barrier at the end instead of one per matrix). */
void lq_qgemv_team(float *const *ys, const lq_qweight *const *ws, int nw, const lq_qact *a);

#endif
