/* llama.cpp imatrix files: legacy .dat and GGUF, read and written. */
#include "algo/imatrix_file.h"

#include "io/cursor.h"
#include "io/gguf.h"
#include "io/mapfile.h"
#include "quant/types.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void lq_imatrix_free(lq_imatrix *im) {
    if (!im) return;
    for (int i = 0; i < im->n; i++) {
        free(im->entries[i].name);
        free(im->entries[i].values);
    }
    free(im->entries);
    free(im->dataset);
    free(im);
}

const lq_imatrix_entry *lq_imatrix_find(const lq_imatrix *im, const char *name) {
    for (int i = 0; i < im->n; i++)
        if (strcmp(im->entries[i].name, name) == 0) return &im->entries[i];
    return NULL;
}

/* Appends an entry with n_values zeroed values; rejects repeated names. */
static llmq_status add_entry(lq_imatrix *im, int cap, const char *name, size_t name_len, int n_values,
                             lq_imatrix_entry **out, lq_err *e) {
    LQ_CHECK(memchr(name, 0, name_len) == NULL, e, LLMQ_ERR_FORMAT, "entry %d: name holds a NUL byte", im->n + 1);
    for (int i = 0; i < im->n; i++)
        LQ_CHECK(strlen(im->entries[i].name) != name_len || memcmp(im->entries[i].name, name, name_len) != 0, e,
                 LLMQ_ERR_DUPLICATE, "entry '%.*s' appears twice", (int)LQ_MIN(name_len, 200), name);
    LQ_CHECK(im->n < cap, e, LLMQ_ERR_FORMAT, "more entries than announced");
    lq_imatrix_entry *en = &im->entries[im->n];
    en->name = lq_strndup(name, name_len);
    en->values = lq_calloc_array((size_t)n_values, sizeof(float));
    im->n++;
    LQ_CHECK(en->name && en->values, e, LLMQ_ERR_NOMEM, "out of memory for entry '%.*s'", (int)LQ_MIN(name_len, 200),
             name);
    en->n_values = n_values;
    *out = en;
    return LLMQ_OK;
}

static llmq_status parse_legacy(lq_cursor *c, lq_imatrix *im, lq_err *e) {
    int32_t n_entries;
    LQ_CHECK(lq_cur_i32(c, &n_entries), e, LLMQ_ERR_BOUNDS, "file too short for an imatrix header");
    LQ_CHECK(n_entries >= 1, e, LLMQ_ERR_FORMAT, "imatrix file claims %d entries", n_entries);
    /* an entry takes at least 17 bytes: length, 1-byte name, ncall, nval, one value */
    LQ_CHECK((size_t)n_entries <= lq_cur_left(c) / 17, e, LLMQ_ERR_OVERFLOW,
             "imatrix file claims %d entries, more than it holds", n_entries);
    im->entries = lq_calloc_array((size_t)n_entries, sizeof *im->entries);
    LQ_CHECK(im->entries, e, LLMQ_ERR_NOMEM, "out of memory for %d entries", n_entries);
    for (int i = 0; i < n_entries; i++) {
        int32_t len, ncall, nval;
        LQ_CHECK(lq_cur_i32(c, &len), e, LLMQ_ERR_BOUNDS, "entry %d: truncated name length", i + 1);
        LQ_CHECK(len > 0, e, LLMQ_ERR_FORMAT, "entry %d: name length %d", i + 1, len);
        const char *name = (const char *)lq_cur_take(c, (size_t)len);
        LQ_CHECK(name, e, LLMQ_ERR_BOUNDS, "entry %d: name of %d bytes runs past the end of the file", i + 1, len);
        LQ_CHECK(lq_cur_i32(c, &ncall) && lq_cur_i32(c, &nval), e, LLMQ_ERR_BOUNDS, "entry '%.*s': truncated counts",
                 LQ_MIN(len, 200), name);
        LQ_CHECK(ncall > 0 && nval > 0, e, LLMQ_ERR_FORMAT, "entry '%.*s': ncall %d, %d values", LQ_MIN(len, 200), name,
                 ncall, nval);
        LQ_CHECK((size_t)nval <= lq_cur_left(c) / 4, e, LLMQ_ERR_OVERFLOW,
                 "entry '%.*s' claims %d values, more than the file holds", LQ_MIN(len, 200), name, nval);
        lq_imatrix_entry *en;
        LQ_TRY(add_entry(im, n_entries, name, (size_t)len, nval, &en, e));
        en->ncall = ncall;
        for (int j = 0; j < nval; j++) {
            float v;
            lq_cur_f32(c, &v);
            LQ_CHECK(isfinite(v) && v >= 0.0f, e, LLMQ_ERR_FORMAT, "entry '%s': value %d is %g", en->name, j, v);
            en->values[j] = v / (float)ncall; /* stored as mean * ncall */
        }
    }
    /* optional trailer: chunk count, then the dataset's name */
    int32_t chunks = 0, dlen = 0;
    const char *dataset = "";
    if (lq_cur_left(c) > 0) {
        LQ_CHECK(lq_cur_i32(c, &chunks), e, LLMQ_ERR_BOUNDS, "truncated chunk count");
        if (lq_cur_left(c) > 0) {
            LQ_CHECK(lq_cur_i32(c, &dlen), e, LLMQ_ERR_BOUNDS, "truncated dataset name length");
            LQ_CHECK(dlen >= 0, e, LLMQ_ERR_FORMAT, "dataset name length %d", dlen);
            dataset = (const char *)lq_cur_take(c, (size_t)dlen);
            LQ_CHECK(dataset, e, LLMQ_ERR_BOUNDS, "dataset name of %d bytes runs past the end of the file", dlen);
        }
    }
    LQ_CHECK(lq_cur_left(c) == 0, e, LLMQ_ERR_FORMAT, "%zu stray bytes after the imatrix data", lq_cur_left(c));
    LQ_CHECK(chunks >= 0, e, LLMQ_ERR_FORMAT, "chunk count %d", chunks);
    im->chunk_count = chunks;
    im->dataset = lq_strndup(dataset, (size_t)dlen);
    LQ_CHECK(im->dataset, e, LLMQ_ERR_NOMEM, "out of memory");
    return LLMQ_OK;
}

static bool ends_with(lq_str s, const char *suffix, size_t *base) {
    size_t n = strlen(suffix);
    if (s.n < n || memcmp(s.p + s.n - n, suffix, n) != 0) return false;
    *base = s.n - n;
    return true;
}

static const lq_gguf_tensor *find_tensor_n(const lq_gguf *g, const char *base, size_t n, const char *suffix) {
    size_t sl = strlen(suffix);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        lq_str t = g->tensors[i].name;
        if (t.n == n + sl && memcmp(t.p, base, n) == 0 && memcmp(t.p + n, suffix, sl) == 0) return &g->tensors[i];
    }
    return NULL;
}

static float tensor_f32(const lq_gguf_tensor *t, int64_t i) {
    float v;
    memcpy(&v, t->data + (size_t)i * 4, 4);
    return v;
}

/* One weight: in_sum2 (cols, n_mat) and counts (n_mat). */
static llmq_status gguf_entry(const lq_gguf *g, const lq_gguf_tensor *sums, size_t base, lq_imatrix *im, int cap,
                              lq_err *e) {
    int nl = (int)LQ_MIN(base, 200);
    const char *name = sums->name.p;
    const lq_gguf_tensor *cnt = find_tensor_n(g, name, base, ".counts");
    LQ_CHECK(cnt, e, LLMQ_ERR_MISSING, "'%.*s.in_sum2' has no '%.*s.counts'", nl, name, nl, name);
    LQ_CHECK(sums->type == LQ_TYPE_F32 && cnt->type == LQ_TYPE_F32, e, LLMQ_ERR_TYPE, "'%.*s': sums and counts must be F32",
             nl, name);
    int64_t cols = sums->ne[0], n_mat = sums->ne[1] * sums->ne[2] * sums->ne[3];
    int64_t n_cnt = cnt->ne[0] * cnt->ne[1] * cnt->ne[2] * cnt->ne[3];
    LQ_CHECK(n_cnt == n_mat, e, LLMQ_ERR_SHAPE, "'%.*s': %lld counts for %lld matrices", nl, name, (long long)n_cnt,
             (long long)n_mat);
    LQ_CHECK(cols * n_mat <= INT32_MAX, e, LLMQ_ERR_OVERFLOW, "'%.*s': too many values", nl, name);
    lq_imatrix_entry *en;
    LQ_TRY(add_entry(im, cap, name, base, (int)(cols * n_mat), &en, e));
    double max_count = 0;
    for (int64_t j = 0; j < n_mat; j++) {
        float c = tensor_f32(cnt, j);
        LQ_CHECK(isfinite(c) && c >= 0.0f, e, LLMQ_ERR_FORMAT, "'%s': count %g", en->name, c);
        max_count = fmax(max_count, c);
        for (int64_t i = 0; i < cols; i++) {
            float v = tensor_f32(sums, j * cols + i);
            LQ_CHECK(isfinite(v) && v >= 0.0f, e, LLMQ_ERR_FORMAT, "'%s': sum %lld is %g", en->name,
                     (long long)(j * cols + i), v);
            /* a matrix that saw no tokens weighs every column alike, as llama.cpp does */
            en->values[j * cols + i] = c > 0.0f ? v / c : 1.0f;
        }
    }
    en->count = max_count;
    en->ncall = im->chunk_size > 0 ? (int)ceil(max_count / im->chunk_size) : 0;
    return LLMQ_OK;
}

static llmq_status parse_gguf(const void *buf, size_t len, lq_imatrix *im, lq_err *e) {
    lq_gguf *g;
    LQ_TRY(lq_gguf_parse(buf, len, &g, e));
    llmq_status st = LLMQ_OK;
    lq_str type, ds = {"", 0};
    int64_t v;
    im->gguf = true;
    if (lq_gguf_get_str(g, "general.type", &type) && !lq_str_eq(type, "imatrix"))
        st = lq_fail(e, LLMQ_ERR_FORMAT, "GGUF file of type '%.*s', not an imatrix", (int)LQ_MIN(type.n, 100), type.p);
    if (lq_gguf_get_i64(g, "imatrix.chunk_count", &v)) im->chunk_count = (int)LQ_MIN(LQ_MAX(v, 0), INT32_MAX);
    if (lq_gguf_get_i64(g, "imatrix.chunk_size", &v)) im->chunk_size = (int)LQ_MIN(LQ_MAX(v, 0), INT32_MAX);
    const lq_gguf_kv *dkv = lq_gguf_find(g, "imatrix.datasets");
    if (dkv && dkv->type == LQ_GGUF_ARRAY && dkv->arr_type == LQ_GGUF_STRING && dkv->arr_n > 0) ds = dkv->arr_str[0];
    int cap = (int)LQ_MIN(g->n_tensors, INT32_MAX);
    if (st == LLMQ_OK && !(im->dataset = lq_strndup(ds.p, (size_t)ds.n)))
        st = lq_fail(e, LLMQ_ERR_NOMEM, "out of memory");
    if (st == LLMQ_OK && !(im->entries = lq_calloc_array((size_t)LQ_MAX(cap, 1), sizeof *im->entries)))
        st = lq_fail(e, LLMQ_ERR_NOMEM, "out of memory");
    size_t base;
    for (uint64_t i = 0; i < g->n_tensors && st == LLMQ_OK; i++) {
        const lq_gguf_tensor *t = &g->tensors[i];
        if (ends_with(t->name, ".in_sum2", &base)) st = gguf_entry(g, t, base, im, cap, e);
        else if (ends_with(t->name, ".counts", &base) && !find_tensor_n(g, t->name.p, base, ".in_sum2"))
            st = lq_fail(e, LLMQ_ERR_MISSING, "'%.*s' has no sums", (int)LQ_MIN(t->name.n, 200), t->name.p);
    }
    if (st == LLMQ_OK && im->n == 0) st = lq_fail(e, LLMQ_ERR_FORMAT, "the imatrix file holds no entries");
    lq_gguf_free(g);
    return st;
}

llmq_status lq_imatrix_parse(const void *buf, size_t len, lq_imatrix **out, lq_err *e) {
    *out = NULL;
    lq_imatrix *im = calloc(1, sizeof *im);
    LQ_CHECK(im, e, LLMQ_ERR_NOMEM, "out of memory");
    lq_cursor c = lq_cursor_make(buf, len);
    llmq_status st = len >= 4 && memcmp(buf, "GGUF", 4) == 0 ? parse_gguf(buf, len, im, e) : parse_legacy(&c, im, e);
    if (st != LLMQ_OK) {
        lq_imatrix_free(im);
        return st;
    }
    *out = im;
    return LLMQ_OK;
}

llmq_status lq_imatrix_load(const char *path, lq_imatrix **out, lq_err *e) {
    lq_mapfile map;
    *out = NULL;
    LQ_TRY(lq_map_open(path, &map, e));
    llmq_status st = lq_imatrix_parse(map.data, map.len, out, e);
    lq_map_close(&map);
    return st;
}

/* ------------------------------------------------------------- writing */

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const lq_imatrix_sums *const *)a)->name, (*(const lq_imatrix_sums *const *)b)->name);
}

typedef struct obuf {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} obuf;

static void put(obuf *b, const void *src, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = LQ_MAX(b->cap * 2, b->n + n + 4096);
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put_i32(obuf *b, int32_t v) { put(b, &v, 4); }

static llmq_status serialize_legacy(const lq_imatrix_sums *const *es, int n, const lq_imatrix_meta *meta, uint8_t **buf,
                                    size_t *len, lq_err *e) {
    obuf b = {0};
    put_i32(&b, n);
    for (int i = 0; i < n; i++) {
        const lq_imatrix_sums *s = es[i];
        /* ceiling division, as llama-imatrix, so no entry gets ncall 0 */
        int32_t ncall = (int32_t)((s->count + meta->chunk_size - 1) / meta->chunk_size);
        put_i32(&b, (int32_t)strlen(s->name));
        put(&b, s->name, strlen(s->name));
        put_i32(&b, ncall);
        put_i32(&b, s->n_values);
        for (int j = 0; j < s->n_values; j++) {
            float v = (float)(s->sum_x2[j] / (double)s->count) * (float)ncall;
            put(&b, &v, 4);
        }
    }
    const char *ds = meta->dataset ? meta->dataset : "";
    put_i32(&b, meta->chunk_count);
    put_i32(&b, (int32_t)strlen(ds));
    put(&b, ds, strlen(ds));
    if (b.oom) {
        free(b.p);
        return lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for the imatrix file");
    }
    *buf = b.p;
    *len = b.n;
    return LLMQ_OK;
}

static llmq_status add_gguf_entries(lq_gguf_writer *w, const lq_imatrix_sums *const *es, int n, lq_err *e) {
    char name[512];
    for (int i = 0; i < n; i++) {
        const lq_imatrix_sums *s = es[i];
        float *sum = lq_malloc_array((size_t)s->n_values, sizeof(float));
        LQ_CHECK(sum, e, LLMQ_ERR_NOMEM, "out of memory");
        for (int j = 0; j < s->n_values; j++) sum[j] = (float)s->sum_x2[j];
        float cnt = (float)s->count;
        int64_t ne[2] = {s->n_values, 1}, ne1[2] = {1, 1};
        snprintf(name, sizeof name, "%s.in_sum2", s->name);
        llmq_status st = lq_gguf_add_tensor(w, name, LQ_TYPE_F32, 2, ne, sum, (size_t)s->n_values * 4);
        snprintf(name, sizeof name, "%s.counts", s->name);
        if (st == LLMQ_OK) st = lq_gguf_add_tensor(w, name, LQ_TYPE_F32, 2, ne1, &cnt, 4);
        free(sum);
        if (st != LLMQ_OK) return lq_fail(e, st, "cannot add the imatrix entry '%s' (%s)", s->name, llmq_status_str(st));
    }
    return LLMQ_OK;
}

static llmq_status serialize_gguf(const lq_imatrix_sums *const *es, int n, const lq_imatrix_meta *meta, uint8_t **buf,
                                  size_t *len, lq_err *e) {
    lq_gguf_writer *w = lq_gguf_writer_new(0);
    LQ_CHECK(w, e, LLMQ_ERR_NOMEM, "out of memory");
    const char *ds = meta->dataset ? meta->dataset : "";
    llmq_status st = lq_gguf_add_str(w, "general.type", "imatrix");
    if (st == LLMQ_OK) st = lq_gguf_add_arr_str(w, "imatrix.datasets", &ds, NULL, ds[0] ? 1 : 0);
    if (st == LLMQ_OK) st = lq_gguf_add_u32(w, "imatrix.chunk_count", (uint32_t)meta->chunk_count);
    if (st == LLMQ_OK) st = lq_gguf_add_u32(w, "imatrix.chunk_size", (uint32_t)meta->chunk_size);
    if (st != LLMQ_OK) st = lq_fail(e, st, "cannot write the imatrix metadata");
    if (st == LLMQ_OK) st = add_gguf_entries(w, es, n, e);
    if (st == LLMQ_OK) st = lq_gguf_serialize(w, buf, len, e);
    lq_gguf_writer_free(w);
    return st;
}

llmq_status lq_imatrix_serialize(bool gguf, const lq_imatrix_sums *es, int n, const lq_imatrix_meta *meta,
                                 uint8_t **buf, size_t *len, lq_err *e) {
    LQ_CHECK(n >= 1, e, LLMQ_ERR_ARG, "an imatrix file needs at least one entry");
    LQ_CHECK(meta->chunk_size > 0 && meta->chunk_count >= 0, e, LLMQ_ERR_ARG, "bad chunk size %d or count %d",
             meta->chunk_size, meta->chunk_count);
    for (int i = 0; i < n; i++)
        LQ_CHECK(es[i].count > 0 && es[i].n_values > 0 && strlen(es[i].name) > 0 && strlen(es[i].name) < 400, e,
                 LLMQ_ERR_ARG, "imatrix entry %d ('%.100s') has no data", i, es[i].name);
    const lq_imatrix_sums **sorted = lq_malloc_array((size_t)n, sizeof *sorted);
    LQ_CHECK(sorted, e, LLMQ_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) sorted[i] = &es[i];
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_name); /* llama-imatrix's order */
    llmq_status st = gguf ? serialize_gguf(sorted, n, meta, buf, len, e) : serialize_legacy(sorted, n, meta, buf, len, e);
    free(sorted);
    return st;
}

llmq_status lq_imatrix_write(const char *path, const lq_imatrix_sums *es, int n, const lq_imatrix_meta *meta,
                             lq_err *e) {
    size_t pl = strlen(path);
    bool gguf = pl >= 5 && strcmp(path + pl - 5, ".gguf") == 0;
    uint8_t *buf;
    size_t len;
    LQ_TRY(lq_imatrix_serialize(gguf, es, n, meta, &buf, &len, e));
    llmq_status st = lq_write_file_atomic(path, buf, len, e);
    free(buf);
    return st;
}
