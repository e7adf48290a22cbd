/* W8A8 for llama decoders (--scheme): every matrix as per-channel INT8
 * (I8_CH); for static-int8 and SmoothQuant, a calibration pass of the float
 * model, block by block, whose observers fix each linear input's scale and
 * whose per-channel maxima give SmoothQuant's scales (folded into the
 * RMSNorm weights and, for ffn_down, the rows of ffn_up). */
#ifndef LQ_ALGO_W8A8_LLAMA_H
#define LQ_ALGO_W8A8_LLAMA_H

#include "model/model_save_internal.h"

/* save_opts.add_weights for a llama model with o->w8a8 set. */
llmq_status lq_w8a8_llama_weights(lq_gguf_writer *w, llmq_model *m, const void *ctx, save_opts *o);

#endif
