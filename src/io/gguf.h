/* GGUF v2/v3 reader and writer.
 *
 * The reader works on (buffer, length): every count, string length and offset
 * is checked against the bytes that remain, duplicate keys and tensor names,
 * bad alignment, unknown or deprecated tensor types, overflowing shapes and
 * overlapping or out-of-file tensor data are rejected with a specific status.
 * Parsed strings point into the caller's buffer, which must outlive the
 * lq_gguf. */
#ifndef LQ_GGUF_H
#define LQ_GGUF_H

#include "core/lq.h"

enum lq_gguf_vtype {
    LQ_GGUF_UINT8 = 0, LQ_GGUF_INT8 = 1, LQ_GGUF_UINT16 = 2, LQ_GGUF_INT16 = 3,
    LQ_GGUF_UINT32 = 4, LQ_GGUF_INT32 = 5, LQ_GGUF_FLOAT32 = 6, LQ_GGUF_BOOL = 7,
    LQ_GGUF_STRING = 8, LQ_GGUF_ARRAY = 9, LQ_GGUF_UINT64 = 10, LQ_GGUF_INT64 = 11,
    LQ_GGUF_FLOAT64 = 12,
};

typedef struct lq_str {
    const char *p; /* not NUL-terminated */
    uint64_t n;
} lq_str;

typedef struct lq_gguf_kv {
    lq_str key;
    uint32_t type;        /* enum lq_gguf_vtype */
    uint32_t arr_type;    /* element type when type == ARRAY */
    uint64_t arr_n;       /* element count when type == ARRAY */
    union {
        uint64_t u64; int64_t i64; double f64; bool b;
        lq_str str;
    } v;                  /* scalars, widened; str for STRING */
    const uint8_t *arr_data; /* raw array payload (numeric arrays) */
    lq_str *arr_str;      /* decoded element strings (string arrays) */
} lq_gguf_kv;

typedef struct lq_gguf_tensor {
    lq_str name;
    uint32_t n_dims;      /* 1..4 */
    int64_t ne[4];        /* ne[0] contiguous; unused dims are 1 */
    uint32_t type;        /* lq_type */
    uint64_t offset;      /* relative to data section start */
    uint64_t nbytes;
    const uint8_t *data;  /* into the buffer */
} lq_gguf_tensor;

typedef struct lq_gguf {
    uint32_t version;
    uint64_t n_kv, n_tensors;
    lq_gguf_kv *kv;
    lq_gguf_tensor *tensors;
    uint64_t alignment;
    uint64_t data_offset;  /* start of the tensor data section in the buffer */
} lq_gguf;

/* Parses buf. On success *out is heap-allocated; free with lq_gguf_free. */
llmq_status lq_gguf_parse(const void *buf, size_t len, lq_gguf **out, lq_err *e);
void lq_gguf_free(lq_gguf *g);

/* Lookups. Missing key -> NULL / false. */
const lq_gguf_kv *lq_gguf_find(const lq_gguf *g, const char *key);
const lq_gguf_tensor *lq_gguf_find_tensor(const lq_gguf *g, const char *name);
/* Any integer type (or bool) that fits; false if absent or not integral. */
bool lq_gguf_get_i64(const lq_gguf *g, const char *key, int64_t *v);
/* FLOAT32/FLOAT64 (or an integer); false if absent. */
bool lq_gguf_get_f64(const lq_gguf *g, const char *key, double *v);
/* STRING; false if absent or another type. */
bool lq_gguf_get_str(const lq_gguf *g, const char *key, lq_str *v);
/* Element i of a numeric array as double / int64 (false if out of range or
 * the kv is not a numeric array). */
bool lq_gguf_arr_f64(const lq_gguf_kv *kv, uint64_t i, double *v);
bool lq_gguf_arr_i64(const lq_gguf_kv *kv, uint64_t i, int64_t *v);
/* Equality of an lq_str with a C string. */
bool lq_str_eq(lq_str s, const char *c);

/* --- writer: builds a GGUF v3 file in memory --------------------------- */
typedef struct lq_gguf_writer lq_gguf_writer;

lq_gguf_writer *lq_gguf_writer_new(uint64_t alignment /* 0: 32 */);
void lq_gguf_writer_free(lq_gguf_writer *w);
/* From now on tensor bytes go to an anonymous temporary file instead of
 * memory, so a model's tensors are not all held at once; false if it cannot
 * be made. */
bool lq_gguf_writer_spill(lq_gguf_writer *w);
/* Adders copy keys, names and values. Duplicate keys/names -> DUPLICATE. */
llmq_status lq_gguf_add_u32(lq_gguf_writer *w, const char *key, uint32_t v);
llmq_status lq_gguf_add_i32(lq_gguf_writer *w, const char *key, int32_t v);
llmq_status lq_gguf_add_u64(lq_gguf_writer *w, const char *key, uint64_t v);
llmq_status lq_gguf_add_f32(lq_gguf_writer *w, const char *key, float v);
llmq_status lq_gguf_add_bool(lq_gguf_writer *w, const char *key, bool v);
llmq_status lq_gguf_add_str(lq_gguf_writer *w, const char *key, const char *v);
/* Numeric array: elem_type is a scalar lq_gguf_vtype, data holds n elements. */
llmq_status lq_gguf_add_arr(lq_gguf_writer *w, const char *key, uint32_t elem_type,
                            const void *data, uint64_t n);
llmq_status lq_gguf_add_arr_str(lq_gguf_writer *w, const char *key,
                                const char *const *strs, const size_t *lens, uint64_t n);
/* Copies a kv (any type) from a parsed file. */
llmq_status lq_gguf_add_kv_copy(lq_gguf_writer *w, const lq_gguf_kv *kv);
/* Tensor data is copied; nbytes must equal the type's size for ne. */
llmq_status lq_gguf_add_tensor(lq_gguf_writer *w, const char *name, uint32_t type,
                               uint32_t n_dims, const int64_t *ne, const void *data, size_t nbytes);
/* Serializes to a malloc'd buffer (caller frees). */
llmq_status lq_gguf_serialize(const lq_gguf_writer *w, uint8_t **buf, size_t *len, lq_err *e);
/* Serializes and writes atomically (temp file + rename). */
llmq_status lq_gguf_write_file(const lq_gguf_writer *w, const char *path, lq_err *e);

#endif
