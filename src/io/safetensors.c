/* safetensors reader: u64 header length N, N bytes of JSON, then the data.
 * Every tensor entry is checked against the file before anything points into
 * it: the span lies in the data area, agrees with dtype x shape, and no two
 * spans overlap. Shapes come out in GGML order (ne[0] = last safetensors dim). */
#include "io/safetensors.h"

#include "io/cursor.h"
#include "quant/types.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000) /* the reference reader's cap */
#define ST_MAX_DIMS 4
#define ST_MAX_JSON_INT 9007199254740992.0 /* 2^53: doubles stay exact below */

typedef struct st_dtype {
    const char *name;
    uint32_t type;
    uint32_t size; /* bytes per element */
} st_dtype;

static const st_dtype st_dtypes[] = {
    {"F32", LQ_TYPE_F32, 4}, {"F16", LQ_TYPE_F16, 2}, {"BF16", LQ_TYPE_BF16, 2},
    {"I8", LQ_TYPE_I8, 1},   {"I16", LQ_TYPE_I16, 2}, {"I32", LQ_TYPE_I32, 4},
    {"I64", LQ_TYPE_I64, 8}, {"F64", LQ_TYPE_F64, 8},
};

static const st_dtype *st_find_dtype(const char *name) {
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(st_dtypes[i].name, name) == 0) return &st_dtypes[i];
    return NULL;
}

/* A JSON number that must be an exact non-negative integer below 2^53. */
static llmq_status st_json_u64(const cJSON *v, const char *tname, const char *what, uint64_t *out, lq_err *e) {
    LQ_CHECK(cJSON_IsNumber(v), e, LLMQ_ERR_FORMAT, "tensor '%s': %s is not a number", tname, what);
    double d = v->valuedouble;
    LQ_CHECK(isfinite(d) && d == floor(d), e, LLMQ_ERR_FORMAT, "tensor '%s': %s %.17g is not an integer", tname,
             what, d);
    LQ_CHECK(d >= 0, e, LLMQ_ERR_FORMAT, "tensor '%s': %s %.17g is negative", tname, what, d);
    LQ_CHECK(d < ST_MAX_JSON_INT, e, LLMQ_ERR_OVERFLOW, "tensor '%s': %s %.17g is too large", tname, what, d);
    *out = (uint64_t)d;
    return LLMQ_OK;
}

/* shape -> t->ne (GGML order), t->n_dims; *n_elem = product. */
static llmq_status st_parse_shape(const cJSON *shape, lq_tensor *t, uint64_t *n_elem, lq_err *e) {
    LQ_CHECK(cJSON_IsArray(shape), e, LLMQ_ERR_FORMAT, "tensor '%s': missing or non-array \"shape\"", t->name);
    int n = cJSON_GetArraySize(shape);
    LQ_CHECK(n <= ST_MAX_DIMS, e, LLMQ_ERR_UNSUPPORTED, "tensor '%s': %d dimensions (at most %d supported)",
             t->name, n, ST_MAX_DIMS);
    for (int i = 0; i < ST_MAX_DIMS; i++) t->ne[i] = 1;
    t->n_dims = n > 0 ? (uint32_t)n : 1; /* a scalar is one element */
    uint64_t prod = 1;
    int i = 0;
    for (const cJSON *d = shape->child; d; d = d->next, i++) {
        uint64_t v;
        LQ_TRY(st_json_u64(d, t->name, "dimension", &v, e));
        t->ne[n - 1 - i] = (int64_t)v;
        LQ_CHECK(lq_mul_u64_ok(prod, v, &prod), e, LLMQ_ERR_OVERFLOW,
                 "tensor '%s': element count overflows", t->name);
    }
    *n_elem = prod;
    return LLMQ_OK;
}

/* data_offsets [begin, end] relative to the data area of data_len bytes. */
static llmq_status st_parse_offsets(const cJSON *offs, const char *tname, uint64_t data_len, uint64_t *begin,
                                    uint64_t *end, lq_err *e) {
    LQ_CHECK(cJSON_IsArray(offs) && cJSON_GetArraySize(offs) == 2, e, LLMQ_ERR_FORMAT,
             "tensor '%s': \"data_offsets\" must be an array [begin, end]", tname);
    LQ_TRY(st_json_u64(offs->child, tname, "begin offset", begin, e));
    LQ_TRY(st_json_u64(offs->child->next, tname, "end offset", end, e));
    LQ_CHECK(*begin <= *end, e, LLMQ_ERR_FORMAT, "tensor '%s': end offset %llu before begin %llu", tname,
             (unsigned long long)*end, (unsigned long long)*begin);
    LQ_CHECK(*end <= data_len, e, LLMQ_ERR_BOUNDS, "tensor '%s': data ends at %llu, past the %llu data bytes",
             tname, (unsigned long long)*end, (unsigned long long)data_len);
    return LLMQ_OK;
}

/* One header entry -> t (whose name is already set). */
static llmq_status st_parse_entry(const cJSON *item, const uint8_t *data, uint64_t data_len, lq_tensor *t,
                                  lq_err *e) {
    LQ_CHECK(cJSON_IsObject(item), e, LLMQ_ERR_FORMAT, "tensor '%s': entry is not an object", t->name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    LQ_CHECK(cJSON_IsString(dt), e, LLMQ_ERR_FORMAT, "tensor '%s': missing or non-string \"dtype\"", t->name);
    const st_dtype *dtype = st_find_dtype(dt->valuestring);
    LQ_CHECK(dtype, e, LLMQ_ERR_UNSUPPORTED, "tensor '%s': unsupported dtype '%.32s'", t->name, dt->valuestring);
    t->type = dtype->type;
    uint64_t n_elem = 0, begin = 0, end = 0, nbytes = 0;
    LQ_TRY(st_parse_shape(cJSON_GetObjectItemCaseSensitive(item, "shape"), t, &n_elem, e));
    LQ_TRY(st_parse_offsets(cJSON_GetObjectItemCaseSensitive(item, "data_offsets"), t->name, data_len, &begin,
                            &end, e));
    LQ_CHECK(lq_mul_u64_ok(n_elem, dtype->size, &nbytes), e, LLMQ_ERR_OVERFLOW,
             "tensor '%s': byte size overflows", t->name);
    LQ_CHECK(nbytes == end - begin, e, LLMQ_ERR_SHAPE,
             "tensor '%s': shape disagrees with byte span (%llu bytes for the shape, span of %llu)", t->name,
             (unsigned long long)nbytes, (unsigned long long)(end - begin));
    t->data = data + begin;
    t->nbytes = nbytes;
    return LLMQ_OK;
}

static int st_cmp_name(const void *a, const void *b) {
    return strcmp((*(const lq_tensor *const *)a)->name, (*(const lq_tensor *const *)b)->name);
}

static int st_cmp_data(const void *a, const void *b) {
    const lq_tensor *x = *(const lq_tensor *const *)a, *y = *(const lq_tensor *const *)b;
    if (x->data != y->data) return (const uint8_t *)x->data < (const uint8_t *)y->data ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

/* Rejects duplicate names and overlapping (non-empty) spans, by sorting. */
static llmq_status st_check_unique(lq_tensor *ts, uint64_t n, lq_err *e) {
    if (n < 2) return LLMQ_OK;
    const lq_tensor **p = lq_malloc_array((size_t)n, sizeof *p);
    LQ_CHECK(p, e, LLMQ_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < n; i++) p[i] = &ts[i];
    llmq_status st = LLMQ_OK;
    qsort(p, (size_t)n, sizeof *p, st_cmp_name);
    for (uint64_t i = 1; i < n && st == LLMQ_OK; i++)
        if (strcmp(p[i - 1]->name, p[i]->name) == 0)
            st = lq_fail(e, LLMQ_ERR_DUPLICATE, "duplicate tensor name '%s'", p[i]->name);
    qsort(p, (size_t)n, sizeof *p, st_cmp_data);
    const uint8_t *reach = NULL; /* end of the furthest span seen so far */
    const char *reach_name = "";
    for (uint64_t i = 0; i < n && st == LLMQ_OK; i++) {
        const uint8_t *b = p[i]->data;
        if (p[i]->nbytes == 0) continue;
        if (reach && b < reach)
            st = lq_fail(e, LLMQ_ERR_OVERLAP, "tensors '%s' and '%s' overlap", reach_name, p[i]->name);
        reach = b + p[i]->nbytes;
        reach_name = p[i]->name;
    }
    free(p);
    return st;
}

/* Header JSON -> tensors. Fills s->n_tensors as entries are added so that
 * lq_safetensors_free can release a partial table. */
static llmq_status st_parse_json(const cJSON *root, const uint8_t *data, uint64_t data_len, lq_safetensors *s,
                                 lq_err *e) {
    uint64_t n = 0;
    for (const cJSON *it = root->child; it; it = it->next)
        if (!it->string || strcmp(it->string, "__metadata__") != 0) n++;
    s->tensors = lq_calloc_array(n ? (size_t)n : 1, sizeof *s->tensors);
    LQ_CHECK(s->tensors, e, LLMQ_ERR_NOMEM, "out of memory for %llu tensors", (unsigned long long)n);
    for (const cJSON *it = root->child; it; it = it->next) {
        LQ_CHECK(it->string, e, LLMQ_ERR_FORMAT, "header entry without a name");
        if (strcmp(it->string, "__metadata__") == 0) continue;
        lq_tensor *t = &s->tensors[s->n_tensors];
        t->name = lq_strndup(it->string, strlen(it->string));
        LQ_CHECK(t->name, e, LLMQ_ERR_NOMEM, "out of memory");
        s->n_tensors++;
        LQ_TRY(st_parse_entry(it, data, data_len, t, e));
    }
    return st_check_unique(s->tensors, s->n_tensors, e);
}

/* The JSON text must be one object, followed only by padding spaces. */
static llmq_status st_parse_text(const char *text, size_t n, cJSON **out, lq_err *e) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    LQ_CHECK(root, e, LLMQ_ERR_JSON, "safetensors header is not valid JSON");
    size_t used = end && end >= text && end <= text + n ? (size_t)(end - text) : n;
    for (size_t i = used; i < n; i++) {
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') {
            cJSON_Delete(root);
            return lq_fail(e, LLMQ_ERR_JSON, "safetensors header has trailing bytes after the JSON");
        }
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return lq_fail(e, LLMQ_ERR_FORMAT, "safetensors header is not a JSON object");
    }
    *out = root;
    return LLMQ_OK;
}

llmq_status lq_safetensors_parse(const void *buf, size_t len, lq_safetensors **out, lq_err *e) {
    *out = NULL;
    lq_cursor c = lq_cursor_make(buf, len);
    uint64_t n;
    LQ_CHECK(lq_cur_u64(&c, &n), e, LLMQ_ERR_BOUNDS, "safetensors file of %zu bytes is too short for a header", len);
    LQ_CHECK(n <= ST_MAX_HEADER, e, LLMQ_ERR_OVERFLOW, "safetensors header length %llu exceeds the %llu-byte cap",
             (unsigned long long)n, (unsigned long long)ST_MAX_HEADER);
    const uint8_t *text = lq_cur_take(&c, (size_t)n);
    LQ_CHECK(text, e, LLMQ_ERR_BOUNDS, "safetensors header of %llu bytes runs past the %zu-byte file",
             (unsigned long long)n, len);
    cJSON *root = NULL;
    LQ_TRY(st_parse_text((const char *)text, (size_t)n, &root, e));
    lq_safetensors *s = calloc(1, sizeof *s);
    llmq_status st = s ? LLMQ_OK : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory");
    if (st == LLMQ_OK) {
        s->data_start = c.off;
        st = st_parse_json(root, lq_cur_ptr(&c), lq_cur_left(&c), s, e);
    }
    cJSON_Delete(root);
    if (st != LLMQ_OK) {
        lq_safetensors_free(s);
        return st;
    }
    *out = s;
    return LLMQ_OK;
}

void lq_safetensors_free(lq_safetensors *s) {
    if (!s) return;
    for (uint64_t i = 0; i < s->n_tensors; i++) free((void *)s->tensors[i].name);
    free(s->tensors);
    free(s);
}
