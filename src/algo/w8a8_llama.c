/* W8A8 for llama decoders. */
#include "algo/w8a8_llama.h"

llmq_status lq_w8a8_llama_weights(lq_gguf_writer *w, llmq_model *m, const void *ctx, save_opts *o) {
    (void)w, (void)m, (void)ctx;
    return lq_fail(o->e, LLMQ_ERR_UNSUPPORTED, "W8A8 for decoders is being written");
}
