/* libFuzzer entry point for every parser (build with clang:
 *   clang -fsanitize=fuzzer,address -Iinclude -Isrc tests/fuzz/fuzz_parsers.c build/lib/libllmq.a ...)
 * The first input byte picks the parser. The same code runs deterministically
 * under ctest through tests/malformed/test_mutations.c. */
#include "fuzz_parsers.h"

#include "io/gguf.h"
#include "io/llama2c.h"
#include "io/safetensors.h"
#include "model/tokenizer.h"

void lq_fuzz_one(const uint8_t *data, size_t size) {
    if (size < 1) return;
    uint8_t which = data[0] % 4;
    data++;
    size--;
    lq_err e = {0};
    if (which == 0) {
        lq_gguf *g = NULL;
        if (lq_gguf_parse(data, size, &g, &e) == LLMQ_OK) {
            lq_tokenizer *t = NULL;
            if (lq_tok_from_gguf(g, &t, &e) == LLMQ_OK) {
                int32_t *ids = NULL;
                size_t n = 0;
                if (lq_tok_encode(t, "Hello world 123", 15, true, &ids, &n, &e) == LLMQ_OK) free(ids);
            }
            lq_tok_free(t);
        }
        lq_gguf_free(g);
    } else if (which == 1) {
        lq_safetensors *s = NULL;
        if (lq_safetensors_parse(data, size, &s, &e) == LLMQ_OK) lq_safetensors_free(s);
    } else if (which == 2) {
        lq_llama2c *c = NULL;
        if (lq_llama2c_parse(data, size, &c, &e) == LLMQ_OK) lq_llama2c_free(c);
    } else {
        lq_tokenizer *t = NULL;
        if (lq_tok_from_llama2c(data, size, 512, &t, &e) == LLMQ_OK) lq_tok_free(t);
        if (lq_tok_from_hf_json((const char *)data, size, &t, &e) == LLMQ_OK) lq_tok_free(t);
    }
}

#ifdef LLMQ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lq_fuzz_one(data, size);
    return 0;
}
#endif
