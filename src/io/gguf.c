/* GGUF v2/v3 reader: every count, length and offset is checked against the
 * bytes that remain before anything is allocated or read. */
#include "io/gguf.h"

#include "io/cursor.h"
#include "quant/types.h"

#include <stdlib.h>
#include <string.h>

#define GGUF_DEFAULT_ALIGNMENT 32

/* Bytes of one scalar of a GGUF value type; 0 for STRING/ARRAY/unknown. */
static size_t scalar_size(uint32_t t) {
    switch (t) {
    case LQ_GGUF_UINT8: case LQ_GGUF_INT8: case LQ_GGUF_BOOL: return 1;
    case LQ_GGUF_UINT16: case LQ_GGUF_INT16: return 2;
    case LQ_GGUF_UINT32: case LQ_GGUF_INT32: case LQ_GGUF_FLOAT32: return 4;
    case LQ_GGUF_UINT64: case LQ_GGUF_INT64: case LQ_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

bool lq_str_eq(lq_str s, const char *c) {
    size_t n = strlen(c);
    return s.n == n && memcmp(s.p, c, n) == 0;
}

static llmq_status read_str(lq_cursor *c, lq_str *s, const char *what, lq_err *e) {
    uint64_t n;
    LQ_CHECK(lq_cur_u64(c, &n), e, LLMQ_ERR_BOUNDS, "truncated %s length", what);
    LQ_CHECK(n <= lq_cur_left(c), e, LLMQ_ERR_BOUNDS, "%s length %llu runs past the end of the file", what,
             (unsigned long long)n);
    s->n = n;
    s->p = (const char *)lq_cur_take(c, (size_t)n);
    return LLMQ_OK;
}

/* Reads a scalar of type t, widened into kv->v. */
static llmq_status read_scalar(lq_cursor *c, uint32_t t, lq_gguf_kv *kv, lq_err *e) {
    uint8_t b[8] = {0};
    size_t n = scalar_size(t);
    LQ_CHECK(lq_cur_read(c, b, n), e, LLMQ_ERR_BOUNDS, "truncated value of '%.*s'", (int)LQ_MIN(kv->key.n, 200), kv->key.p);
    switch (t) {
    case LQ_GGUF_UINT8: kv->v.u64 = b[0]; break;
    case LQ_GGUF_INT8: kv->v.i64 = (int8_t)b[0]; break;
    case LQ_GGUF_BOOL: kv->v.b = b[0] != 0; break;
    case LQ_GGUF_UINT16: { uint16_t v; memcpy(&v, b, 2); kv->v.u64 = v; break; }
    case LQ_GGUF_INT16: { int16_t v; memcpy(&v, b, 2); kv->v.i64 = v; break; }
    case LQ_GGUF_UINT32: { uint32_t v; memcpy(&v, b, 4); kv->v.u64 = v; break; }
    case LQ_GGUF_INT32: { int32_t v; memcpy(&v, b, 4); kv->v.i64 = v; break; }
    case LQ_GGUF_FLOAT32: { float v; memcpy(&v, b, 4); kv->v.f64 = v; break; }
    case LQ_GGUF_UINT64: memcpy(&kv->v.u64, b, 8); break;
    case LQ_GGUF_INT64: memcpy(&kv->v.i64, b, 8); break;
    case LQ_GGUF_FLOAT64: memcpy(&kv->v.f64, b, 8); break;
    }
    return LLMQ_OK;
}

static llmq_status read_array(lq_cursor *c, lq_gguf_kv *kv, lq_err *e) {
    const int kl = (int)LQ_MIN(kv->key.n, 200);
    LQ_CHECK(lq_cur_u32(c, &kv->arr_type) && lq_cur_u64(c, &kv->arr_n), e, LLMQ_ERR_BOUNDS,
             "truncated array header of '%.*s'", kl, kv->key.p);
    if (kv->arr_type == LQ_GGUF_STRING) {
        /* each string needs at least its 8-byte length */
        LQ_CHECK(kv->arr_n <= lq_cur_left(c) / 8, e, LLMQ_ERR_OVERFLOW, "array '%.*s' claims %llu strings, more than the file holds",
                 kl, kv->key.p, (unsigned long long)kv->arr_n);
        kv->arr_str = lq_malloc_array(kv->arr_n ? (size_t)kv->arr_n : 1, sizeof(lq_str));
        LQ_CHECK(kv->arr_str, e, LLMQ_ERR_NOMEM, "out of memory");
        for (uint64_t i = 0; i < kv->arr_n; i++) LQ_TRY(read_str(c, &kv->arr_str[i], "array string", e));
        return LLMQ_OK;
    }
    size_t es = scalar_size(kv->arr_type);
    LQ_CHECK(kv->arr_type != LQ_GGUF_ARRAY, e, LLMQ_ERR_FORMAT, "nested array in '%.*s'", kl, kv->key.p);
    LQ_CHECK(es, e, LLMQ_ERR_FORMAT, "array '%.*s' has unknown element type %u", kl, kv->key.p, kv->arr_type);
    LQ_CHECK(kv->arr_n <= lq_cur_left(c) / es, e, LLMQ_ERR_OVERFLOW, "array '%.*s' claims %llu elements, more than the file holds",
             kl, kv->key.p, (unsigned long long)kv->arr_n);
    kv->arr_data = lq_cur_take(c, (size_t)kv->arr_n * es);
    return LLMQ_OK;
}

static llmq_status read_kv(lq_cursor *c, lq_gguf_kv *kv, lq_err *e) {
    LQ_TRY(read_str(c, &kv->key, "key", e));
    LQ_CHECK(lq_cur_u32(c, &kv->type), e, LLMQ_ERR_BOUNDS, "truncated type of '%.*s'", (int)LQ_MIN(kv->key.n, 200), kv->key.p);
    if (kv->type == LQ_GGUF_STRING) return read_str(c, &kv->v.str, "string value", e);
    if (kv->type == LQ_GGUF_ARRAY) return read_array(c, kv, e);
    LQ_CHECK(scalar_size(kv->type), e, LLMQ_ERR_FORMAT, "key '%.*s' has unknown value type %u",
             (int)LQ_MIN(kv->key.n, 200), kv->key.p, kv->type);
    return read_scalar(c, kv->type, kv, e);
}

/* Open-addressing hash set over strings, for duplicate detection in O(n). */
static uint64_t hash_str(lq_str s) {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t i = 0; i < s.n; i++) h = (h ^ (uint8_t)s.p[i]) * 1099511628211ull;
    return h;
}

/* Returns true if a duplicate was found; *oom on allocation failure. */
static bool has_duplicate(const lq_str *(*get)(const lq_gguf *, uint64_t), const lq_gguf *g, uint64_t n, uint64_t *dup,
                          bool *oom) {
    size_t cap = 16;
    while (cap < n * 2) cap *= 2;
    uint64_t *slot = calloc(cap, sizeof *slot); /* index + 1; 0 = empty */
    *oom = slot == NULL;
    if (!slot) return false;
    bool found = false;
    for (uint64_t i = 0; i < n && !found; i++) {
        const lq_str *s = get(g, i);
        for (size_t h = hash_str(*s) & (cap - 1);; h = (h + 1) & (cap - 1)) {
            if (!slot[h]) { slot[h] = i + 1; break; }
            const lq_str *o = get(g, slot[h] - 1);
            if (o->n == s->n && memcmp(o->p, s->p, s->n) == 0) { found = true; *dup = i; break; }
        }
    }
    free(slot);
    return found;
}

static const lq_str *kv_key(const lq_gguf *g, uint64_t i) { return &g->kv[i].key; }
static const lq_str *tensor_name(const lq_gguf *g, uint64_t i) { return &g->tensors[i].name; }

static llmq_status read_kvs(lq_cursor *c, lq_gguf *g, lq_err *e) {
    /* a kv needs at least 8 (key length) + 4 (type) + 1 bytes */
    LQ_CHECK(g->n_kv <= lq_cur_left(c) / 13, e, LLMQ_ERR_OVERFLOW, "header claims %llu metadata entries, more than the file holds",
             (unsigned long long)g->n_kv);
    g->kv = lq_calloc_array(g->n_kv ? (size_t)g->n_kv : 1, sizeof *g->kv);
    LQ_CHECK(g->kv, e, LLMQ_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < g->n_kv; i++) LQ_TRY(read_kv(c, &g->kv[i], e));
    uint64_t d;
    bool oom;
    if (has_duplicate(kv_key, g, g->n_kv, &d, &oom))
        return lq_fail(e, LLMQ_ERR_DUPLICATE, "duplicate metadata key '%.*s'", (int)LQ_MIN(g->kv[d].key.n, 200), g->kv[d].key.p);
    LQ_CHECK(!oom, e, LLMQ_ERR_NOMEM, "out of memory");
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const lq_gguf_kv *al = lq_gguf_find(g, "general.alignment");
    if (al) {
        LQ_CHECK(al->type == LQ_GGUF_UINT32, e, LLMQ_ERR_ALIGN, "general.alignment must be a uint32");
        LQ_CHECK(al->v.u64 && !(al->v.u64 & (al->v.u64 - 1)), e, LLMQ_ERR_ALIGN,
                 "general.alignment %llu is not a power of two", (unsigned long long)al->v.u64);
        g->alignment = al->v.u64;
    }
    return LLMQ_OK;
}

static llmq_status read_tensor_info(lq_cursor *c, lq_gguf_tensor *t, lq_err *e) {
    LQ_TRY(read_str(c, &t->name, "tensor name", e));
    const int nl = (int)LQ_MIN(t->name.n, 200);
    LQ_CHECK(lq_cur_u32(c, &t->n_dims), e, LLMQ_ERR_BOUNDS, "truncated tensor info of '%.*s'", nl, t->name.p);
    LQ_CHECK(t->n_dims >= 1 && t->n_dims <= 4, e, LLMQ_ERR_SHAPE, "tensor '%.*s' has %u dimensions (1..4 allowed)", nl,
             t->name.p, t->n_dims);
    uint64_t nelem = 1;
    for (int d = 0; d < 4; d++) {
        uint64_t v = 1;
        if ((uint32_t)d < t->n_dims) LQ_CHECK(lq_cur_u64(c, &v), e, LLMQ_ERR_BOUNDS, "truncated shape of '%.*s'", nl, t->name.p);
        LQ_CHECK(v >= 1 && v <= INT64_MAX, e, LLMQ_ERR_SHAPE, "tensor '%.*s' has dimension %d of size %llu", nl, t->name.p, d,
                 (unsigned long long)v);
        LQ_CHECK(lq_mul_u64_ok(nelem, v, &nelem) && nelem <= INT64_MAX, e, LLMQ_ERR_OVERFLOW,
                 "tensor '%.*s': element count overflows", nl, t->name.p);
        t->ne[d] = (int64_t)v;
    }
    LQ_CHECK(lq_cur_u32(c, &t->type) && lq_cur_u64(c, &t->offset), e, LLMQ_ERR_BOUNDS, "truncated tensor info of '%.*s'", nl,
             t->name.p);
    const lq_type_traits *tr = lq_type_get(t->type);
    LQ_CHECK(tr, e, LLMQ_ERR_TYPE, "tensor '%.*s' has unknown type %u", nl, t->name.p, t->type);
    LQ_CHECK(!tr->deprecated, e, LLMQ_ERR_TYPE, "tensor '%.*s' has type %u (%s), which was removed from GGML", nl, t->name.p,
             t->type, tr->name);
    LQ_CHECK(t->ne[0] % tr->blck_size == 0, e, LLMQ_ERR_SHAPE, "tensor '%.*s': row of %lld is not a multiple of the %s block size %d",
             nl, t->name.p, (long long)t->ne[0], tr->name, tr->blck_size);
    uint64_t rows = nelem / (uint64_t)t->ne[0];
    uint64_t row = (uint64_t)t->ne[0] / (uint64_t)tr->blck_size * tr->type_size + tr->row_header;
    LQ_CHECK(lq_mul_u64_ok(row, rows, &t->nbytes), e, LLMQ_ERR_OVERFLOW, "tensor '%.*s': byte size overflows", nl, t->name.p);
    return LLMQ_OK;
}

typedef struct span { uint64_t lo, hi, i; } span;
static int by_lo(const void *a, const void *b) {
    uint64_t x = ((const span *)a)->lo, y = ((const span *)b)->lo;
    return (x > y) - (x < y);
}

/* Tensor data must be aligned, inside the file and not overlapping. */
static llmq_status place_tensors(lq_gguf *g, const uint8_t *buf, size_t len, lq_err *e) {
    span *s = lq_malloc_array(g->n_tensors ? (size_t)g->n_tensors : 1, sizeof *s);
    LQ_CHECK(s, e, LLMQ_ERR_NOMEM, "out of memory");
    llmq_status st = LLMQ_OK;
    uint64_t avail = len - g->data_offset;
    for (uint64_t i = 0; i < g->n_tensors && st == LLMQ_OK; i++) {
        lq_gguf_tensor *t = &g->tensors[i];
        const int nl = (int)LQ_MIN(t->name.n, 200);
        if (t->offset % g->alignment)
            st = lq_fail(e, LLMQ_ERR_ALIGN, "tensor '%.*s' offset %llu is not a multiple of the alignment %llu", nl, t->name.p,
                         (unsigned long long)t->offset, (unsigned long long)g->alignment);
        else if (t->offset > avail || t->nbytes > avail - t->offset)
            st = lq_fail(e, LLMQ_ERR_BOUNDS, "tensor '%.*s' data [%llu, +%llu) lies outside the file", nl, t->name.p,
                         (unsigned long long)t->offset, (unsigned long long)t->nbytes);
        t->data = buf + g->data_offset + (st == LLMQ_OK ? t->offset : 0);
        s[i] = (span){t->offset, t->offset + t->nbytes, i};
    }
    if (st == LLMQ_OK) {
        qsort(s, (size_t)g->n_tensors, sizeof *s, by_lo);
        for (uint64_t i = 1; i < g->n_tensors && st == LLMQ_OK; i++)
            if (s[i].lo < s[i - 1].hi) {
                const lq_gguf_tensor *t = &g->tensors[s[i].i];
                st = lq_fail(e, LLMQ_ERR_OVERLAP, "tensor '%.*s' overlaps another tensor's data", (int)LQ_MIN(t->name.n, 200), t->name.p);
            }
    }
    free(s);
    return st;
}

static llmq_status parse(const uint8_t *buf, size_t len, lq_gguf *g, lq_err *e) {
    lq_cursor c = lq_cursor_make(buf, len);
    uint32_t magic;
    LQ_CHECK(lq_cur_u32(&c, &magic), e, LLMQ_ERR_BOUNDS, "file too short for a GGUF header");
    LQ_CHECK(memcmp(&magic, "GGUF", 4) == 0, e, LLMQ_ERR_MAGIC, "not a GGUF file (bad magic)");
    LQ_CHECK(lq_cur_u32(&c, &g->version), e, LLMQ_ERR_BOUNDS, "truncated GGUF header");
    LQ_CHECK(g->version == 2 || g->version == 3, e, LLMQ_ERR_VERSION, "GGUF version %u is not supported (2 and 3 are)", g->version);
    LQ_CHECK(lq_cur_u64(&c, &g->n_tensors) && lq_cur_u64(&c, &g->n_kv), e, LLMQ_ERR_BOUNDS, "truncated GGUF header");
    LQ_TRY(read_kvs(&c, g, e));
    /* a tensor info needs at least 8 + 4 + 8 + 4 + 8 bytes */
    LQ_CHECK(g->n_tensors <= lq_cur_left(&c) / 32, e, LLMQ_ERR_OVERFLOW, "header claims %llu tensors, more than the file holds",
             (unsigned long long)g->n_tensors);
    g->tensors = lq_calloc_array(g->n_tensors ? (size_t)g->n_tensors : 1, sizeof *g->tensors);
    LQ_CHECK(g->tensors, e, LLMQ_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < g->n_tensors; i++) LQ_TRY(read_tensor_info(&c, &g->tensors[i], e));
    uint64_t d;
    bool oom;
    if (has_duplicate(tensor_name, g, g->n_tensors, &d, &oom))
        return lq_fail(e, LLMQ_ERR_DUPLICATE, "duplicate tensor name '%.*s'", (int)LQ_MIN(g->tensors[d].name.n, 200),
                       g->tensors[d].name.p);
    LQ_CHECK(!oom, e, LLMQ_ERR_NOMEM, "out of memory");
    uint64_t pad = (g->alignment - c.off % g->alignment) % g->alignment;
    g->data_offset = c.off + pad;
    LQ_CHECK(g->n_tensors == 0 || g->data_offset <= len, e, LLMQ_ERR_BOUNDS, "file ends before its tensor data");
    if (g->data_offset > len) g->data_offset = len;
    return place_tensors(g, buf, len, e);
}

llmq_status lq_gguf_parse(const void *buf, size_t len, lq_gguf **out, lq_err *e) {
    *out = NULL;
    lq_gguf *g = calloc(1, sizeof *g);
    LQ_CHECK(g, e, LLMQ_ERR_NOMEM, "out of memory");
    llmq_status st = parse(buf, len, g, e);
    if (st != LLMQ_OK) {
        lq_gguf_free(g);
        return st;
    }
    *out = g;
    return LLMQ_OK;
}

void lq_gguf_free(lq_gguf *g) {
    if (!g) return;
    for (uint64_t i = 0; g->kv && i < g->n_kv; i++) free(g->kv[i].arr_str);
    free(g->kv);
    free(g->tensors);
    free(g);
}

const lq_gguf_kv *lq_gguf_find(const lq_gguf *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (lq_str_eq(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

const lq_gguf_tensor *lq_gguf_find_tensor(const lq_gguf *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (lq_str_eq(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

static bool is_signed(uint32_t t) {
    return t == LQ_GGUF_INT8 || t == LQ_GGUF_INT16 || t == LQ_GGUF_INT32 || t == LQ_GGUF_INT64;
}
static bool is_unsigned(uint32_t t) {
    return t == LQ_GGUF_UINT8 || t == LQ_GGUF_UINT16 || t == LQ_GGUF_UINT32 || t == LQ_GGUF_UINT64;
}

bool lq_gguf_get_i64(const lq_gguf *g, const char *key, int64_t *v) {
    const lq_gguf_kv *kv = lq_gguf_find(g, key);
    if (!kv) return false;
    if (is_signed(kv->type)) *v = kv->v.i64;
    else if (is_unsigned(kv->type) && kv->v.u64 <= INT64_MAX) *v = (int64_t)kv->v.u64;
    else if (kv->type == LQ_GGUF_BOOL) *v = kv->v.b;
    else return false;
    return true;
}

bool lq_gguf_get_f64(const lq_gguf *g, const char *key, double *v) {
    const lq_gguf_kv *kv = lq_gguf_find(g, key);
    if (!kv) return false;
    if (kv->type == LQ_GGUF_FLOAT32 || kv->type == LQ_GGUF_FLOAT64) { *v = kv->v.f64; return true; }
    int64_t i;
    if (!lq_gguf_get_i64(g, key, &i)) return false;
    *v = (double)i;
    return true;
}

bool lq_gguf_get_str(const lq_gguf *g, const char *key, lq_str *v) {
    const lq_gguf_kv *kv = lq_gguf_find(g, key);
    if (!kv || kv->type != LQ_GGUF_STRING) return false;
    *v = kv->v.str;
    return true;
}

bool lq_gguf_arr_f64(const lq_gguf_kv *kv, uint64_t i, double *v) {
    if (kv->type != LQ_GGUF_ARRAY || i >= kv->arr_n || !kv->arr_data) return false;
    if (kv->arr_type == LQ_GGUF_FLOAT32) { float f; memcpy(&f, kv->arr_data + 4 * i, 4); *v = f; return true; }
    if (kv->arr_type == LQ_GGUF_FLOAT64) { memcpy(v, kv->arr_data + 8 * i, 8); return true; }
    int64_t x;
    if (!lq_gguf_arr_i64(kv, i, &x)) return false;
    *v = (double)x;
    return true;
}

bool lq_gguf_arr_i64(const lq_gguf_kv *kv, uint64_t i, int64_t *v) {
    if (kv->type != LQ_GGUF_ARRAY || i >= kv->arr_n || !kv->arr_data) return false;
    const uint8_t *p = kv->arr_data + scalar_size(kv->arr_type) * i;
    switch (kv->arr_type) {
    case LQ_GGUF_UINT8: *v = p[0]; return true;
    case LQ_GGUF_INT8: *v = (int8_t)p[0]; return true;
    case LQ_GGUF_BOOL: *v = p[0] != 0; return true;
    case LQ_GGUF_UINT16: { uint16_t x; memcpy(&x, p, 2); *v = x; return true; }
    case LQ_GGUF_INT16: { int16_t x; memcpy(&x, p, 2); *v = x; return true; }
    case LQ_GGUF_UINT32: { uint32_t x; memcpy(&x, p, 4); *v = x; return true; }
    case LQ_GGUF_INT32: { int32_t x; memcpy(&x, p, 4); *v = x; return true; }
    case LQ_GGUF_UINT64: { uint64_t x; memcpy(&x, p, 8); if (x > INT64_MAX) return false; *v = (int64_t)x; return true; }
    case LQ_GGUF_INT64: memcpy(v, p, 8); return true;
    default: return false;
    }
}
