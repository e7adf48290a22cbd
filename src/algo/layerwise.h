/* Calibrated quantization of a llama decoder, block by block (GPTQ's order):
 * block i's input statistics come from the calibration batch run through the
 * already quantized blocks before it (or through the float model, when asked),
 * its matrices are quantized by the method, written, and then the batch moves
 * on through the quantized block. Only one block's float weights and the
 * batch's hidden states are held at a time. */
#ifndef LQ_ALGO_LAYERWISE_H
#define LQ_ALGO_LAYERWISE_H

#include "algo/awq.h"
#include "algo/wmethod.h"
#include "model/model_save_internal.h"

typedef struct lq_layerwise_opts {
    lq_method method;
    lq_wmethod_params mp;
    lq_awq_params awq;
    const int32_t *tokens; /* n_seq * ctx calibration tokens, each sequence starting with BOS */
    int n_seq, ctx;
    bool float_inputs;     /* statistics from the float model's hidden states */
} lq_layerwise_opts;

/* Calibration tokens from text: *n_seq (<= want / ctx) sequences of *ctx
 * tokens (ctx <= 0: 512; want <= 0: 65536), each starting with BOS as
 * llama-imatrix does; *toks is malloc'd. ARG when the text is too short. */
llmq_status lq_calib_tokens(const llmq_model *m, const char *text, size_t len, int want, int ctx, int32_t **toks,
                            int *n_seq, int *ctx_out, lq_err *e);

/* Adds every weight of m (a llama decoder) to w, in the same order and with
 * the same type choices as the rtn writer. m's layers are borrowed while
 * each block runs quantized and restored before returning. */
llmq_status lq_layerwise_add_weights(lq_gguf_writer *w, llmq_model *m, const lq_layerwise_opts *lo, save_opts *o);

#endif
