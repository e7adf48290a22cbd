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

/* Adds every weight of m (a llama decoder) to w, in the same order and with
 * the same type choices as the rtn writer. m's layers are borrowed while
 * each block runs quantized and restored before returning. */
llmq_status lq_layerwise_add_weights(lq_gguf_writer *w, llmq_model *m, const lq_layerwise_opts *lo, save_opts *o);

#endif
