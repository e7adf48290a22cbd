/* Shared by the GGUF writers (model_save.c for llama, model_save_bert.c):
 * how matrices are written and the metadata every file carries. */
#ifndef LQ_MODEL_SAVE_INTERNAL_H
#define LQ_MODEL_SAVE_INTERNAL_H

#include "algo/presets.h"
#include "algo/type_rules.h"
#include "algo/wmethod.h"
#include "model/llama_internal.h"
#include "model/model_internal.h"

#define LQ_FNV_OFFSET 1469598103934665603ull

/* Activation quantization requested with the weights (W8A8). */
typedef struct lq_w8a8_opts {
    bool dynamic;            /* per-token scales at run time; else static scales from calibration */
    int observer;            /* lq_observer_kind for static scales */
    float smooth_alpha;      /* > 0: SmoothQuant before quantizing */
    float outlier_threshold; /* > 0: LLM.int8 outlier columns (recorded for the runtime) */
    const char *calib_text;  /* decoders: running text; encoders: one sentence per line */
    size_t calib_len;
    int calib_tokens, calib_ctx;
} lq_w8a8_opts;

/* Metadata keys of W8A8 files: the scheme ("dynamic-int8", "static-int8"),
 * the observer, SmoothQuant's alpha (0: none), LLM.int8's threshold (0: none).
 * Static scales are F32 tensors of one value named "<weight name>.act_scale". */
#define LQ_KEY_W8A8_SCHEME "llmq.w8a8.scheme"
#define LQ_KEY_W8A8_OBSERVER "llmq.w8a8.observer"
#define LQ_KEY_W8A8_SMOOTH "llmq.w8a8.smooth_alpha"
#define LQ_KEY_W8A8_OUTLIER "llmq.w8a8.outlier_threshold"

/* The bit layout of INT3 units that this llmq writes and reads: 2 since
 * 2026-12-03 (docs/FORMATS.md); files without the key are layout 1. */
#define LQ_KEY_INT3_LAYOUT "llmq.format.int3_layout"
#define LQ_INT3_LAYOUT 2

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
    const char *method;         /* recorded as llmq.quantize.method ("rtn" when NULL) */
    /* per-tensor importance (mean x^2 per input column, cols values) from an
     * imatrix file, or NULL; imp may be NULL */
    const float *(*imp)(void *imp_user, const char *name, int64_t cols);
    void *imp_user;
    lq_method qmethod;          /* how matrices without calibration statistics are quantized */
    int n_fallback;             /* matrices the method could not write, rounded to nearest instead */
    /* called once per written matrix with its relative error (weighted by
     * the importance where known; -1 when unknown) */
    void (*tensor_done)(void *user, const char *name, const char *type, double rel_err);
    /* writes the llama weights in place of the rtn writer (the calibrated,
     * block-by-block methods), or NULL */
    llmq_status (*add_weights)(lq_gguf_writer *w, llmq_model *m, const void *ctx, struct save_opts *o);
    const void *add_weights_ctx;
    const lq_w8a8_opts *w8a8;   /* W8A8 scheme, or NULL */
} save_opts;

/* The whole GGUF file of m (llama or bert) at path, atomically. */
llmq_status lq_save_model(llmq_model *m, const char *path, save_opts *o);

/* The type the options give a tensor; ne1 == 1 (vectors) is F32. Advances the
 * mix's counters: call once per tensor, in file order. */
uint32_t lq_save_pick_type(save_opts *o, const char *name, int64_t ne0, int64_t ne1);
/* Adds n bytes of source weights to the checksum recorded in the metadata. */
void lq_save_hash(save_opts *o, const void *p, size_t n);
/* Adds a tensor already in its type (bytes: ne1 rows of lq_row_size(type,
 * ne0)) and reports progress; err (may be NULL) goes to tensor_done. */
llmq_status lq_save_add(lq_gguf_writer *w, const char *name, uint32_t type, const void *bytes, int64_t ne0,
                        int64_t ne1, const double *err, save_opts *o);
/* lq_save_matrix of a weight that may be quantized (dequantized first). */
llmq_status lq_save_qweight(lq_gguf_writer *w, const char *name, const lq_qweight *q, save_opts *o);

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
