/* GGUF v3 writer: metadata and tensors are collected in memory, then
 * serialized in one pass (header, kvs, tensor infos, aligned data). */
#include "io/gguf.h"

#include "io/mapfile.h"
#include "core/lq.h"
#include "quant/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} wbuf;

static void put(wbuf *b, const void *src, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) { b->oom = true; return; }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put_u32(wbuf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(wbuf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(wbuf *b, const char *s, size_t n) { put_u64(b, n); put(b, s, n); }

typedef struct wtensor {
    char *name;
    uint32_t type, n_dims;
    int64_t ne[4];
    uint8_t *data;    /* NULL when spilled */
    size_t nbytes;
    off_t spill_off;  /* where the bytes are in the spill file */
} wtensor;

struct lq_gguf_writer {
    uint64_t alignment;
    wbuf kvs;         /* serialized key-value pairs */
    uint64_t n_kv;
    char **keys;      /* for duplicate checks */
    wtensor *tensors;
    uint64_t n_tensors;
    FILE *spill;      /* tensor bytes go here instead of memory (lq_gguf_writer_spill) */
    off_t spill_len;
};

bool lq_gguf_writer_spill(lq_gguf_writer *w) {
    if (!w->spill) w->spill = tmpfile();
    return w->spill != NULL;
}

lq_gguf_writer *lq_gguf_writer_new(uint64_t alignment) {
    lq_gguf_writer *w = calloc(1, sizeof *w);
    if (w) w->alignment = alignment ? alignment : 32;
    return w;
}

void lq_gguf_writer_free(lq_gguf_writer *w) {
    if (!w) return;
    if (w->spill) fclose(w->spill);
    free(w->kvs.p);
    for (uint64_t i = 0; i < w->n_kv; i++) free(w->keys[i]);
    free(w->keys);
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].data);
    }
    free(w->tensors);
    free(w);
}

/* Registers key (rejecting duplicates) and writes it with its type. */
static llmq_status begin_kv(lq_gguf_writer *w, const char *key, uint32_t type) {
    for (uint64_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->keys[i], key) == 0) return LLMQ_ERR_DUPLICATE;
    char **k = realloc(w->keys, (size_t)(w->n_kv + 1) * sizeof *k);
    if (!k) return LLMQ_ERR_NOMEM;
    w->keys = k;
    if (!(k[w->n_kv] = lq_strndup(key, strlen(key)))) return LLMQ_ERR_NOMEM;
    w->n_kv++;
    put_str(&w->kvs, key, strlen(key));
    put_u32(&w->kvs, type);
    return w->kvs.oom ? LLMQ_ERR_NOMEM : LLMQ_OK;
}

static bool is_alignment_key(const char *key) { return strcmp(key, "general.alignment") == 0; }

static llmq_status add_scalar(lq_gguf_writer *w, const char *key, uint32_t type, const void *v, size_t n) {
    LQ_TRY(begin_kv(w, key, type));
    put(&w->kvs, v, n);
    if (is_alignment_key(key) && type == LQ_GGUF_UINT32) {
        /* the padding must follow the key the reader will see; a bad value
         * is still written (tests build malformed files this way) */
        uint32_t a;
        memcpy(&a, v, 4);
        if (a && !(a & (a - 1))) w->alignment = a;
    }
    return w->kvs.oom ? LLMQ_ERR_NOMEM : LLMQ_OK;
}

llmq_status lq_gguf_add_u32(lq_gguf_writer *w, const char *key, uint32_t v) { return add_scalar(w, key, LQ_GGUF_UINT32, &v, 4); }
llmq_status lq_gguf_add_i32(lq_gguf_writer *w, const char *key, int32_t v) { return add_scalar(w, key, LQ_GGUF_INT32, &v, 4); }
llmq_status lq_gguf_add_u64(lq_gguf_writer *w, const char *key, uint64_t v) { return add_scalar(w, key, LQ_GGUF_UINT64, &v, 8); }
llmq_status lq_gguf_add_f32(lq_gguf_writer *w, const char *key, float v) { return add_scalar(w, key, LQ_GGUF_FLOAT32, &v, 4); }
llmq_status lq_gguf_add_bool(lq_gguf_writer *w, const char *key, bool v) {
    uint8_t b = v;
    return add_scalar(w, key, LQ_GGUF_BOOL, &b, 1);
}

llmq_status lq_gguf_add_str(lq_gguf_writer *w, const char *key, const char *v) {
    LQ_TRY(begin_kv(w, key, LQ_GGUF_STRING));
    put_str(&w->kvs, v, strlen(v));
    return w->kvs.oom ? LLMQ_ERR_NOMEM : LLMQ_OK;
}

static size_t elem_size(uint32_t t) {
    static const size_t s[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < sizeof s / sizeof s[0] ? s[t] : 0;
}

llmq_status lq_gguf_add_arr(lq_gguf_writer *w, const char *key, uint32_t elem_type, const void *data, uint64_t n) {
    size_t es = elem_size(elem_type), bytes;
    if (!es || !lq_mul_ok((size_t)n, es, &bytes)) return LLMQ_ERR_ARG;
    LQ_TRY(begin_kv(w, key, LQ_GGUF_ARRAY));
    put_u32(&w->kvs, elem_type);
    put_u64(&w->kvs, n);
    put(&w->kvs, data, bytes);
    return w->kvs.oom ? LLMQ_ERR_NOMEM : LLMQ_OK;
}

llmq_status lq_gguf_add_arr_str(lq_gguf_writer *w, const char *key, const char *const *strs, const size_t *lens,
                                uint64_t n) {
    LQ_TRY(begin_kv(w, key, LQ_GGUF_ARRAY));
    put_u32(&w->kvs, LQ_GGUF_STRING);
    put_u64(&w->kvs, n);
    for (uint64_t i = 0; i < n; i++) put_str(&w->kvs, strs[i], lens ? lens[i] : strlen(strs[i]));
    return w->kvs.oom ? LLMQ_ERR_NOMEM : LLMQ_OK;
}

llmq_status lq_gguf_add_kv_copy(lq_gguf_writer *w, const lq_gguf_kv *kv) {
    char *key = lq_strndup(kv->key.p, (size_t)kv->key.n);
    if (!key) return LLMQ_ERR_NOMEM;
    llmq_status st;
    if (kv->type == LQ_GGUF_STRING) {
        st = begin_kv(w, key, LQ_GGUF_STRING);
        if (st == LLMQ_OK) put_str(&w->kvs, kv->v.str.p, (size_t)kv->v.str.n);
    } else if (kv->type == LQ_GGUF_ARRAY && kv->arr_type == LQ_GGUF_STRING) {
        st = begin_kv(w, key, LQ_GGUF_ARRAY);
        if (st == LLMQ_OK) {
            put_u32(&w->kvs, LQ_GGUF_STRING);
            put_u64(&w->kvs, kv->arr_n);
        }
        for (uint64_t i = 0; st == LLMQ_OK && i < kv->arr_n; i++) put_str(&w->kvs, kv->arr_str[i].p, (size_t)kv->arr_str[i].n);
    } else if (kv->type == LQ_GGUF_ARRAY) {
        st = lq_gguf_add_arr(w, key, kv->arr_type, kv->arr_data, kv->arr_n);
    } else {
        /* scalars are stored widened; write back the original width */
        uint8_t raw[8] = {0};
        if (kv->type == LQ_GGUF_FLOAT32) { float f = (float)kv->v.f64; memcpy(raw, &f, 4); }
        else if (kv->type == LQ_GGUF_FLOAT64) memcpy(raw, &kv->v.f64, 8);
        else if (kv->type == LQ_GGUF_BOOL) raw[0] = kv->v.b;
        else memcpy(raw, &kv->v.u64, 8); /* little-endian: low bytes first */
        st = elem_size(kv->type) ? add_scalar(w, key, kv->type, raw, elem_size(kv->type)) : LLMQ_ERR_ARG;
    }
    free(key);
    return st != LLMQ_OK ? st : w->kvs.oom ? LLMQ_ERR_NOMEM : LLMQ_OK;
}

llmq_status lq_gguf_add_tensor(lq_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                               const void *data, size_t nbytes) {
    if (n_dims < 1 || n_dims > 4) return LLMQ_ERR_SHAPE;
    int64_t full[4] = {1, 1, 1, 1};
    size_t rows = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] < 1) return LLMQ_ERR_SHAPE;
        full[d] = ne[d];
        if (d && !lq_mul_ok(rows, (size_t)ne[d], &rows)) return LLMQ_ERR_OVERFLOW;
    }
    size_t row = lq_row_size(type, full[0]), need;
    if (!row || !lq_mul_ok(row, rows, &need) || need != nbytes) return LLMQ_ERR_SHAPE;
    for (uint64_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0) return LLMQ_ERR_DUPLICATE;
    wtensor *t = realloc(w->tensors, (size_t)(w->n_tensors + 1) * sizeof *t);
    if (!t) return LLMQ_ERR_NOMEM;
    w->tensors = t;
    t += w->n_tensors;
    t->name = lq_strndup(name, strlen(name));
    t->data = w->spill ? NULL : malloc(nbytes ? nbytes : 1);
    if (!t->name || (!w->spill && !t->data)) {
        free(t->name);
        free(t->data);
        return LLMQ_ERR_NOMEM;
    }
    if (w->spill) {
        if (fseeko(w->spill, w->spill_len, SEEK_SET) != 0 || fwrite(data, 1, nbytes, w->spill) != nbytes) {
            free(t->name);
            return LLMQ_ERR_IO;
        }
        t->spill_off = w->spill_len;
        w->spill_len += (off_t)nbytes;
    } else {
        memcpy(t->data, data, nbytes);
    }
    t->type = type;
    t->n_dims = n_dims;
    memcpy(t->ne, full, sizeof full);
    t->nbytes = nbytes;
    w->n_tensors++;
    return LLMQ_OK;
}

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* Header, key-values and tensor infos into b (no tensor data). */
static llmq_status serialize_header(const lq_gguf_writer *w, wbuf *out, lq_err *e) {
    bool has_key = false;
    for (uint64_t i = 0; i < w->n_kv; i++) has_key |= is_alignment_key(w->keys[i]);
    /* a non-default alignment the reader must know about: appended last */
    bool add_key = !has_key && w->alignment != 32;
    LQ_CHECK(w->alignment && !(w->alignment & (w->alignment - 1)) && w->alignment <= UINT32_MAX, e, LLMQ_ERR_ALIGN,
             "GGUF alignment %llu is not a power of two", (unsigned long long)w->alignment);
    wbuf b = {0};
    put(&b, "GGUF", 4);
    put_u32(&b, 3);
    put_u64(&b, w->n_tensors);
    put_u64(&b, w->n_kv + add_key);
    put(&b, w->kvs.p, w->kvs.n);
    if (add_key) {
        put_str(&b, "general.alignment", strlen("general.alignment"));
        put_u32(&b, LQ_GGUF_UINT32);
        put_u32(&b, (uint32_t)w->alignment);
    }
    uint64_t off = 0;
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        put_str(&b, t->name, strlen(t->name));
        put_u32(&b, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) put_u64(&b, (uint64_t)t->ne[d]);
        put_u32(&b, t->type);
        put_u64(&b, off);
        off = align_up(off + t->nbytes, w->alignment);
    }
    *out = b;
    if (b.oom) {
        free(b.p);
        return lq_fail(e, LLMQ_ERR_NOMEM, "out of memory while writing GGUF");
    }
    return LLMQ_OK;
}

static const uint8_t zeros[64] = {0};

/* Tensor i's bytes, read back from the spill file in pieces when spilled. */
static bool emit_tensor(const lq_gguf_writer *w, uint64_t i, bool (*sink)(void *ctx, const void *p, size_t n),
                        void *ctx) {
    const wtensor *t = &w->tensors[i];
    if (t->data) return sink(ctx, t->data, t->nbytes);
    uint8_t piece[1 << 16];
    for (size_t done = 0; done < t->nbytes;) {
        size_t n = LQ_MIN(sizeof piece, t->nbytes - done);
        if (fseeko(w->spill, t->spill_off + (off_t)done, SEEK_SET) != 0 || fread(piece, 1, n, w->spill) != n ||
            !sink(ctx, piece, n))
            return false;
        done += n;
    }
    return true;
}

/* Header, then each tensor padded to the alignment, into sink. */
static bool emit(const lq_gguf_writer *w, const wbuf *hdr, bool (*sink)(void *ctx, const void *p, size_t n),
                 void *ctx) {
    if (!sink(ctx, hdr->p, hdr->n)) return false;
    uint64_t pos = hdr->n;
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        while (pos % w->alignment) {
            size_t pad = LQ_MIN(sizeof zeros, w->alignment - pos % w->alignment);
            if (!sink(ctx, zeros, pad)) return false;
            pos += pad;
        }
        if (!emit_tensor(w, i, sink, ctx)) return false;
        pos += w->tensors[i].nbytes;
    }
    return true;
}

static bool sink_buf(void *ctx, const void *p, size_t n) {
    put(ctx, p, n);
    return !((wbuf *)ctx)->oom;
}

llmq_status lq_gguf_serialize(const lq_gguf_writer *w, uint8_t **buf, size_t *len, lq_err *e) {
    wbuf b = {0};
    LQ_TRY(serialize_header(w, &b, e));
    wbuf out = {0};
    bool ok = emit(w, &b, sink_buf, &out);
    free(b.p);
    if (!ok) {
        free(out.p);
        return lq_fail(e, out.oom ? LLMQ_ERR_NOMEM : LLMQ_ERR_IO, "cannot serialize GGUF");
    }
    *buf = out.p;
    *len = out.n;
    return LLMQ_OK;
}

typedef struct { const lq_gguf_writer *w; const wbuf *hdr; } file_job;

static bool sink_fd(void *ctx, const void *p, size_t n) { return lq_write_all(*(int *)ctx, p, n); }

static bool produce(int fd, void *user) {
    const file_job *j = user;
    return emit(j->w, j->hdr, sink_fd, &fd);
}

llmq_status lq_gguf_write_file(const lq_gguf_writer *w, const char *path, lq_err *e) {
    wbuf hdr = {0};
    LQ_TRY(serialize_header(w, &hdr, e));
    file_job j = {w, &hdr};
    llmq_status st = lq_write_file_atomic_fn(path, produce, &j, e);
    free(hdr.p);
    return st;
}
