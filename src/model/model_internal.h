/* The llmq_model handle: what was opened, and the network it runs. */
#ifndef LQ_MODEL_INTERNAL_H
#define LQ_MODEL_INTERNAL_H

#include "io/gguf.h"
#include "io/llama2c.h"
#include "io/mapfile.h"
#include "io/safetensors.h"
#include "model/bert.h"
#include "model/llama.h"
#include "model/tokenizer.h"

struct llmq_model {
    llmq_arch arch;
    const char *format;       /* "gguf", "safetensors", "llama2c" */
    char *name;
    char *quant_method, *quant_options, *source_checksum; /* llmq provenance keys, or NULL */
    lq_mapfile map;           /* the model file (gguf, llama2c) */
    lq_gguf *gguf;
    lq_hf_dir *hf;
    lq_llama2c *l2c;
    lq_tensor *own_tensors;   /* gguf tensors as lq_tensor (names owned) */
    const lq_tensor *tensors; /* view used by inspect */
    size_t n_tensors;
    lq_tokenizer *tok;        /* may be NULL (llama2.c without --tokenizer) */
    lq_llama *llama;
    lq_bert *bert;
    lq_llama_hparams hp;      /* decoder hyper-parameters */
    int n_threads;
};

llmq_status lq_model_open_gguf(llmq_model *m, const char *path, lq_err *e);
llmq_status lq_model_open_hf(llmq_model *m, const char *dir, lq_err *e);
llmq_status lq_model_open_llama2c(llmq_model *m, const char *path, const char *tok_path, lq_err *e);

#endif
