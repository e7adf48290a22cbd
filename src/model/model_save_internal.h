/* Shared by the GGUF writers (model_save.c for llama, model_save_bert.c):
 * how matrices are written and the metadata every file carries. */
#ifndef LQ_MODEL_SAVE_INTERNAL_H
#define LQ_MODEL_SAVE_INTERNAL_H

#include "algo/presets.h"
#include "algo/type_rules.h"
#include "model/model_internal.h"

#define LQ_FNV_OFFSET 1469598103934665603ull

/* How matrices are written: F32 (convert) or quantized by rtn. */
typedef struct save_opts {
    uint32_t type;   /* for 2-D weights; vectors (norms, biases) stay F32 */
    int n_threads;
    uint64_t fnv;    /* FNV-1a over the source weights, for the metadata */
    lq_err *e;
    const lq_type_rules *rules; /* per-tensor overrides, or NULL */
    lq_preset_state *preset;    /* a llama.cpp mix, or NULL for one type everywhere */
    uint32_t file_type;         /* llama_ftype recorded in general.file_type */
    void (*progress)(void *user, int done, int total, const char *name);
    void *user;
    int done, total;
    bool keep_f32;              /* the next lq_save_matrix stays F32 whatever the type */
    const char *options;        /* the request as given (mix or type, --pure, --tensor-type), for the metadata */
} save_opts;

/* data (ne1 rows of ne0) F32 -> a tensor of the type the options choose;
 * ne1 == 1 is a vector and stays F32. */
llmq_status lq_save_matrix(lq_gguf_writer *w, const char *name, const float *data, int64_t ne0, int64_t ne1,
                           save_opts *o);
/* llmq.quantize.* and the source-weights hash. */
llmq_status lq_save_provenance(lq_gguf_writer *w, const save_opts *o);
/* Copies every tokenizer.* key of a GGUF source. */
llmq_status lq_save_gguf_tokenizer(lq_gguf_writer *w, const lq_gguf *g);
/* The whole file for a BERT encoder (llama.cpp's "bert" architecture). */
llmq_status lq_save_bert(const llmq_model *m, const char *path, save_opts *o);

#endif
