/* safetensors reader (one file) and Hugging Face model directories
 * (config.json + model.safetensors or a sharded model.safetensors.index.json).
 *
 * Layout: u64 header length N, N bytes of JSON {name: {dtype, shape,
 * data_offsets:[begin,end]}, "__metadata__": {...}}, then the data. Offsets
 * are relative to the end of the header. Every span is checked: it must lie in
 * the file, agree with dtype x shape, and not overlap another tensor. */
#ifndef LQ_SAFETENSORS_H
#define LQ_SAFETENSORS_H

#include "core/lq.h"
#include "io/mapfile.h"
#include "model/tensor.h"

typedef struct lq_safetensors {
    uint64_t n_tensors;
    lq_tensor *tensors;   /* ggml order shapes; names owned by this struct.
                             dtype F32/F16/BF16 map to lq types; I8/I16/I32/I64/F64
                             map to the GGML integer/F64 ids; others UNSUPPORTED */
    size_t data_start;    /* 8 + N */
} lq_safetensors;

llmq_status lq_safetensors_parse(const void *buf, size_t len, lq_safetensors **out, lq_err *e);
void lq_safetensors_free(lq_safetensors *s);

/* A Hugging Face model directory: its config.json and all tensors of all
 * shards, mapped. */
typedef struct lq_hf_dir {
    char *config_json;        /* NUL-terminated text of config.json */
    size_t config_len;
    int n_files;
    lq_mapfile *maps;         /* one per shard */
    lq_safetensors **files;
    uint64_t n_tensors;       /* over all shards */
    lq_tensor *tensors;       /* points into files[]; names unique */
} lq_hf_dir;

/* dir must contain config.json and model.safetensors, or
 * model.safetensors.index.json whose weight_map names the shards (shard names
 * may not contain '/' or ".."). Duplicate tensor names across shards are an
 * error (DUPLICATE). */
llmq_status lq_hf_dir_open(const char *dir, lq_hf_dir **out, lq_err *e);
void lq_hf_dir_free(lq_hf_dir *d);
const lq_tensor *lq_hf_dir_find(const lq_hf_dir *d, const char *name);

#endif
