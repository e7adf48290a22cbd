/* A named tensor as the model code sees it, whatever file it came from.
 * Shapes use GGML order: ne[0] is the contiguous dimension, so a linear
 * layer's weight W (out x in, row-major) has ne[0] = in, ne[1] = out. */
#ifndef LQ_TENSOR_H
#define LQ_TENSOR_H

#include <stdint.h>

typedef struct lq_tensor {
    const char *name;  /* NUL-terminated; owned by whoever built the array */
    uint32_t type;     /* lq_type */
    uint32_t n_dims;   /* 1..4 */
    int64_t ne[4];     /* unused dims are 1 */
    const void *data;  /* not owned (usually points into a mapped file) */
    uint64_t nbytes;
} lq_tensor;

static inline int64_t lq_tensor_nelem(const lq_tensor *t) {
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

#endif
