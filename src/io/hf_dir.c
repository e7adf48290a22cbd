/* Hugging Face model directory: config.json plus model.safetensors, or the
 * shards named by model.safetensors.index.json. Each shard is mapped once and
 * parsed; the tensors of all shards form one table with unique names. */
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The public struct plus a by-name index for lq_hf_dir_find. */
typedef struct hf_dir_impl {
    lq_hf_dir d;
    const lq_tensor **by_name; /* (n_tensors) sorted by name */
} hf_dir_impl;

static llmq_status hf_path(char *dst, size_t cap, const char *dir, const char *name, lq_err *e) {
    int n = snprintf(dst, cap, "%s/%s", dir, name);
    LQ_CHECK(n >= 0 && (size_t)n < cap, e, LLMQ_ERR_ARG, "path too long: %s/%s", dir, name);
    return LLMQ_OK;
}

static bool hf_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Whole small text file -> NUL-terminated malloc'd copy. */
static llmq_status hf_read_text(const char *path, char **text, size_t *len, lq_err *e) {
    lq_mapfile m;
    LQ_TRY(lq_map_open(path, &m, e));
    *text = lq_strndup(m.len ? (const char *)m.data : "", m.len);
    *len = m.len;
    lq_map_close(&m);
    LQ_CHECK(*text, e, LLMQ_ERR_NOMEM, "%s: out of memory", path);
    return LLMQ_OK;
}

/* Shard names come from the index file, so they must stay inside dir. */
static llmq_status hf_check_shard_name(const char *name, lq_err *e) {
    LQ_CHECK(name[0] && !strchr(name, '/') && !strchr(name, '\\') && !strstr(name, ".."), e, LLMQ_ERR_FORMAT,
             "shard name '%.200s' must be a plain file name in the model directory", name);
    return LLMQ_OK;
}

/* Maps and parses one shard into slot d->n_files. */
static llmq_status hf_add_file(lq_hf_dir *d, const char *dir, const char *name, lq_err *e) {
    char path[4096];
    LQ_TRY(hf_path(path, sizeof path, dir, name, e));
    int i = d->n_files;
    LQ_TRY(lq_map_open(path, &d->maps[i], e));
    d->n_files++; /* counted now so free() unmaps it on failure */
    llmq_status st = lq_safetensors_parse(d->maps[i].data, d->maps[i].len, &d->files[i], e);
    if (st != LLMQ_OK) {
        char msg[sizeof e->msg];
        snprintf(msg, sizeof msg, "%s", e ? e->msg : "");
        return lq_fail(e, st, "%s: %s", path, msg);
    }
    return LLMQ_OK;
}

static llmq_status hf_alloc_files(lq_hf_dir *d, size_t n, lq_err *e) {
    d->maps = lq_calloc_array(n, sizeof *d->maps);
    d->files = lq_calloc_array(n, sizeof *d->files);
    LQ_CHECK(d->maps && d->files, e, LLMQ_ERR_NOMEM, "out of memory");
    return LLMQ_OK;
}

/* Index of name among names[0..n), or -1. */
static int hf_index_of(char **names, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

/* Distinct shard names of a weight_map, in order of first use. */
static llmq_status hf_shard_names(const cJSON *wm, char ***names, int *n, lq_err *e) {
    int cap = cJSON_GetArraySize(wm);
    *n = 0;
    *names = lq_calloc_array(cap > 0 ? (size_t)cap : 1, sizeof **names);
    LQ_CHECK(*names, e, LLMQ_ERR_NOMEM, "out of memory");
    for (const cJSON *it = wm->child; it; it = it->next) {
        LQ_CHECK(cJSON_IsString(it) && it->string, e, LLMQ_ERR_FORMAT,
                 "weight_map entry '%.200s' is not a string", it->string ? it->string : "");
        LQ_TRY(hf_check_shard_name(it->valuestring, e));
        if (hf_index_of(*names, *n, it->valuestring) < 0) (*names)[(*n)++] = it->valuestring;
    }
    LQ_CHECK(*n > 0, e, LLMQ_ERR_FORMAT, "weight_map names no shard");
    return LLMQ_OK;
}

static int hf_cmp_name(const void *a, const void *b) {
    return strcmp((*(const lq_tensor *const *)a)->name, (*(const lq_tensor *const *)b)->name);
}

/* Concatenates the shards' tables and builds the sorted index; names must be
 * unique across shards. */
static llmq_status hf_combine(hf_dir_impl *h, lq_err *e) {
    lq_hf_dir *d = &h->d;
    uint64_t total = 0;
    for (int i = 0; i < d->n_files; i++)
        LQ_CHECK(lq_add_u64_ok(total, d->files[i]->n_tensors, &total), e, LLMQ_ERR_OVERFLOW, "too many tensors");
    LQ_CHECK(total <= SIZE_MAX / sizeof(lq_tensor), e, LLMQ_ERR_OVERFLOW, "too many tensors");
    d->tensors = lq_calloc_array(total ? (size_t)total : 1, sizeof *d->tensors);
    h->by_name = lq_calloc_array(total ? (size_t)total : 1, sizeof *h->by_name);
    LQ_CHECK(d->tensors && h->by_name, e, LLMQ_ERR_NOMEM, "out of memory");
    for (int i = 0; i < d->n_files; i++)
        for (uint64_t j = 0; j < d->files[i]->n_tensors; j++) d->tensors[d->n_tensors++] = d->files[i]->tensors[j];
    for (uint64_t i = 0; i < total; i++) h->by_name[i] = &d->tensors[i];
    qsort(h->by_name, (size_t)total, sizeof *h->by_name, hf_cmp_name);
    for (uint64_t i = 1; i < total; i++)
        LQ_CHECK(strcmp(h->by_name[i - 1]->name, h->by_name[i]->name) != 0, e, LLMQ_ERR_DUPLICATE,
                 "tensor '%s' appears in more than one shard", h->by_name[i]->name);
    return LLMQ_OK;
}

/* Every tensor the weight_map lists must be in the shard it names. Runs after
 * hf_combine: shard f's tensors sit at [start, start + n) of d->tensors. */
static llmq_status hf_check_listed(const lq_hf_dir *d, const cJSON *wm, char **names, int n, lq_err *e) {
    for (const cJSON *it = wm->child; it; it = it->next) {
        int f = hf_index_of(names, n, it->valuestring);
        uint64_t start = 0;
        for (int i = 0; i < f; i++) start += d->files[i]->n_tensors;
        const lq_tensor *t = lq_hf_dir_find(d, it->string);
        uint64_t at = t ? (uint64_t)(t - d->tensors) : 0;
        LQ_CHECK(f >= 0 && t && at >= start && at - start < d->files[f]->n_tensors, e, LLMQ_ERR_MISSING,
                 "tensor '%.200s' listed in the index is missing from shard %.200s", it->string, it->valuestring);
    }
    return LLMQ_OK;
}

static llmq_status hf_open_sharded(hf_dir_impl *h, const char *dir, const char *index_path, lq_err *e) {
    lq_hf_dir *d = &h->d;
    char *text;
    size_t len;
    LQ_TRY(hf_read_text(index_path, &text, &len, e));
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    LQ_CHECK(root, e, LLMQ_ERR_JSON, "%s: malformed JSON", index_path);
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    char **names = NULL;
    int n = 0;
    llmq_status st = cJSON_IsObject(wm) ? LLMQ_OK
                                        : lq_fail(e, LLMQ_ERR_FORMAT, "%s: no \"weight_map\" object", index_path);
    if (st == LLMQ_OK) st = hf_shard_names(wm, &names, &n, e);
    if (st == LLMQ_OK) st = hf_alloc_files(d, (size_t)n, e);
    for (int i = 0; i < n && st == LLMQ_OK; i++) st = hf_add_file(d, dir, names[i], e);
    if (st == LLMQ_OK) st = hf_combine(h, e);
    if (st == LLMQ_OK) st = hf_check_listed(d, wm, names, n, e);
    free(names);
    cJSON_Delete(root);
    return st;
}

static llmq_status hf_open_into(hf_dir_impl *h, const char *dir, lq_err *e) {
    lq_hf_dir *d = &h->d;
    char path[4096];
    LQ_TRY(hf_path(path, sizeof path, dir, "config.json", e));
    LQ_TRY(hf_read_text(path, &d->config_json, &d->config_len, e));
    LQ_TRY(hf_path(path, sizeof path, dir, "model.safetensors", e));
    if (hf_exists(path)) {
        LQ_TRY(hf_alloc_files(d, 1, e));
        LQ_TRY(hf_add_file(d, dir, "model.safetensors", e));
        return hf_combine(h, e);
    }
    LQ_TRY(hf_path(path, sizeof path, dir, "model.safetensors.index.json", e));
    LQ_CHECK(hf_exists(path), e, LLMQ_ERR_IO, "%s: no model.safetensors or model.safetensors.index.json", dir);
    return hf_open_sharded(h, dir, path, e);
}

llmq_status lq_hf_dir_open(const char *dir, lq_hf_dir **out, lq_err *e) {
    *out = NULL;
    hf_dir_impl *h = calloc(1, sizeof *h);
    LQ_CHECK(h, e, LLMQ_ERR_NOMEM, "out of memory");
    llmq_status st = hf_open_into(h, dir, e);
    if (st != LLMQ_OK) {
        lq_hf_dir_free(&h->d);
        return st;
    }
    *out = &h->d;
    return LLMQ_OK;
}

void lq_hf_dir_free(lq_hf_dir *d) {
    if (!d) return;
    hf_dir_impl *h = (hf_dir_impl *)d; /* d is the first member */
    for (int i = 0; i < d->n_files; i++) {
        lq_safetensors_free(d->files[i]);
        lq_map_close(&d->maps[i]);
    }
    free(d->maps);
    free(d->files);
    free(d->tensors);
    free(d->config_json);
    free(h->by_name);
    free(h);
}

const lq_tensor *lq_hf_dir_find(const lq_hf_dir *d, const char *name) {
    if (!d || !name) return NULL;
    const hf_dir_impl *h = (const hf_dir_impl *)d;
    size_t lo = 0, hi = (size_t)d->n_tensors;
    while (lo < hi) { /* binary search over the sorted index */
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(h->by_name[mid]->name, name);
        if (c == 0) return h->by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}
