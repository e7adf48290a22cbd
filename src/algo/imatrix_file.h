/* llama.cpp importance-matrix files (llama-imatrix's output, llama-quantize's
 * --imatrix input), both formats:
 *
 * - GGUF (the current one): general.type = "imatrix", imatrix.datasets
 *   (strings), imatrix.chunk_count and imatrix.chunk_size (u32); per weight
 *   NAME two F32 tensors, NAME.in_sum2 (sum of x^2 per input column) and
 *   NAME.counts (tokens summed over).
 * - legacy .dat: int32 n_entries; per entry int32 name length, name, int32
 *   ncall (chunks), int32 nval, float values[nval] = mean(x^2) * ncall; then
 *   int32 chunk count and int32 length + the dataset's name.
 *
 * Names are llama.cpp weight names (blk.N.attn_q.weight, ...), written in
 * sorted order as llama-imatrix does. The reader is a bounded parser:
 * truncation -> BOUNDS, counts larger than the file -> OVERFLOW, negative or
 * zero lengths and counts, non-finite or negative values -> FORMAT, a
 * repeated name -> DUPLICATE, a sum without its counts -> MISSING. */
#ifndef LQ_IMATRIX_FILE_H
#define LQ_IMATRIX_FILE_H

#include "core/lq.h"

typedef struct lq_imatrix_entry {
    char *name;
    int n_values;
    float *values; /* mean of x^2 per input column (what quantizers weight by) */
    int ncall;     /* chunks gathered over (0 when the file cannot say) */
    double count;  /* tokens (GGUF counts); 0 for the legacy format */
} lq_imatrix_entry;

typedef struct lq_imatrix {
    int n;
    lq_imatrix_entry *entries;
    int chunk_count;
    int chunk_size; /* 0: not recorded (legacy) */
    char *dataset;  /* first dataset name, "" if none */
    bool gguf;      /* read from the GGUF format */
} lq_imatrix;

/* Parses either format (GGUF by its magic). */
llmq_status lq_imatrix_parse(const void *buf, size_t len, lq_imatrix **out, lq_err *e);
llmq_status lq_imatrix_load(const char *path, lq_imatrix **out, lq_err *e);
void lq_imatrix_free(lq_imatrix *im);
/* Entry by weight name, or NULL. */
const lq_imatrix_entry *lq_imatrix_find(const lq_imatrix *im, const char *name);

/* One weight's sums as gathered, for the writer. */
typedef struct lq_imatrix_sums {
    const char *name;
    int n_values;
    const double *sum_x2; /* (n_values) */
    int64_t count;        /* tokens */
} lq_imatrix_sums;

typedef struct lq_imatrix_meta {
    int chunk_count, chunk_size; /* chunk_size > 0 */
    const char *dataset;         /* may be NULL */
} lq_imatrix_meta;

/* Serializes n entries in the GGUF or the legacy format to a malloc'd buffer. */
llmq_status lq_imatrix_serialize(bool gguf, const lq_imatrix_sums *es, int n, const lq_imatrix_meta *meta,
                                 uint8_t **buf, size_t *len, lq_err *e);
/* Writes path atomically: GGUF when it ends in ".gguf", else legacy. */
llmq_status lq_imatrix_write(const char *path, const lq_imatrix_sums *es, int n, const lq_imatrix_meta *meta,
                             lq_err *e);

#endif
