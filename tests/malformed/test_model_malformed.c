/* Model-level corruptions through the public llmq_model_open: a tiny llama
 * GGUF is written with one thing wrong each time. */
#include "io/gguf.h"
#include "quant/types.h"
#include "quant/types_llmq.h"
#include "test.h"

#include <unistd.h>

enum { C = 8, F = 16, V = 8 };

typedef struct knobs {
    const char *arch;
    int heads, kv_heads;
    int n_scores;              /* entries in tokenizer.ggml.scores */
    const char *skip;          /* tensor to leave out */
    const char *bad_shape;     /* tensor written with a wrong shape */
    int emb_rows;              /* rows of token_embd */
    bool drop_block_count;
} knobs;

static knobs defaults(void) { return (knobs){"llama", 2, 1, V, NULL, NULL, V, false}; }

static void add(lq_gguf_writer *w, const knobs *k, const char *name, int64_t ne0, int64_t ne1) {
    if (k->skip && strcmp(k->skip, name) == 0) return;
    if (k->bad_shape && strcmp(k->bad_shape, name) == 0) ne1 += 1;
    size_t n = (size_t)(ne0 * ne1);
    float *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = (float)((i * 7919) % 13) / 13.0f - 0.5f;
    int64_t ne[2] = {ne0, ne1};
    lq_gguf_add_tensor(w, name, LQ_TYPE_F32, ne1 > 1 ? 2 : 1, ne, d, n * sizeof *d);
    free(d);
}

static llmq_status open_with(const knobs *k, const char *path) {
    lq_gguf_writer *w = lq_gguf_writer_new(32);
    lq_gguf_add_str(w, "general.architecture", k->arch);
    lq_gguf_add_u32(w, "llama.embedding_length", C);
    if (!k->drop_block_count) lq_gguf_add_u32(w, "llama.block_count", 1);
    lq_gguf_add_u32(w, "llama.feed_forward_length", F);
    lq_gguf_add_u32(w, "llama.attention.head_count", (uint32_t)k->heads);
    lq_gguf_add_u32(w, "llama.attention.head_count_kv", (uint32_t)k->kv_heads);
    lq_gguf_add_u32(w, "llama.context_length", 64);
    const char *toks[V] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81" "a", "\xe2\x96\x81" "b", "a", "b", "\xe2\x96\x81"};
    float scores[V] = {0, 0, 0, -1, -2, -3, -4, -5};
    int32_t types[V] = {2, 3, 3, 1, 1, 1, 1, 1};
    lq_gguf_add_str(w, "tokenizer.ggml.model", "llama");
    lq_gguf_add_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, V);
    lq_gguf_add_arr(w, "tokenizer.ggml.scores", LQ_GGUF_FLOAT32, scores, (uint64_t)k->n_scores);
    lq_gguf_add_arr(w, "tokenizer.ggml.token_type", LQ_GGUF_INT32, types, V);
    lq_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
    lq_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", 2);
    int kvd = k->heads > 0 ? C / k->heads * k->kv_heads : 1;
    if (kvd < 1) kvd = 1;
    add(w, k, "token_embd.weight", C, k->emb_rows);
    add(w, k, "output_norm.weight", C, 1);
    add(w, k, "blk.0.attn_norm.weight", C, 1);
    add(w, k, "blk.0.attn_q.weight", C, C);
    add(w, k, "blk.0.attn_k.weight", C, kvd);
    add(w, k, "blk.0.attn_v.weight", C, kvd);
    add(w, k, "blk.0.attn_output.weight", C, C);
    add(w, k, "blk.0.ffn_norm.weight", C, 1);
    add(w, k, "blk.0.ffn_gate.weight", C, F);
    add(w, k, "blk.0.ffn_up.weight", C, F);
    add(w, k, "blk.0.ffn_down.weight", F, C);
    lq_err e = {0};
    lq_gguf_write_file(w, path, &e);
    lq_gguf_writer_free(w);
    llmq_model *m = NULL;
    llmq_error err = {0};
    llmq_status st = llmq_model_open(path, NULL, &m, &err);
    if (st != LLMQ_OK) printf("    -> %s: %s\n", llmq_status_str(st), err.msg);
    if (st == LLMQ_OK) {
        /* the valid model must also run */
        int32_t t[3] = {1, 3, 4};
        float logits[V];
        CHECK(llmq_decode(m, t, 3, 0, logits, 1, &err) == LLMQ_OK);
        CHECK(isfinite(logits[0]) && isfinite(logits[V - 1]));
        /* misuse is an error, not a read of unfilled cache or a crash */
        CHECK(llmq_decode(m, t, 1, 9, logits, 1, &err) == LLMQ_ERR_ARG);     /* gap in positions */
        int32_t bad = V + 5;
        CHECK(llmq_decode(m, &bad, 1, 3, logits, 1, &err) == LLMQ_ERR_ARG);  /* token outside vocab */
        CHECK(llmq_decode(m, t, 3, 0, logits, 4, &err) == LLMQ_ERR_ARG);     /* more logits than tokens */
        CHECK(llmq_decode(m, t, 1, 63, logits, 1, &err) == LLMQ_ERR_ARG);    /* gap, near the limit */
        CHECK(llmq_decode(m, t, 1, 3, logits, 1, &err) == LLMQ_OK);          /* continue at the end */
    }
    llmq_model_free(m);
    return st;
}

/* An I3_* tensor in a file without llmq.format.int3_layout (written before
 * the INT3 unit layout changed) is refused by name; with the key the open
 * goes on (and stops at the hyper-parameters this file lacks). */
static llmq_status open_int3(const char *path, bool with_key) {
    lq_gguf_writer *w = lq_gguf_writer_new(32);
    lq_gguf_add_str(w, "general.architecture", "llama");
    if (with_key) lq_gguf_add_u32(w, "llmq.format.int3_layout", 2);
    uint8_t q[2 + 12] = {0};
    int64_t ne[2] = {32, 1};
    lq_gguf_add_tensor(w, "token_embd.weight", LQ_TYPE_I3_G32S, 2, ne, q, sizeof q);
    lq_err e = {0};
    lq_gguf_write_file(w, path, &e);
    lq_gguf_writer_free(w);
    llmq_model *m = NULL;
    llmq_error err = {0};
    const llmq_status st = llmq_model_open(path, NULL, &m, &err);
    if (st != LLMQ_OK) printf("    -> %s: %s\n", llmq_status_str(st), err.msg);
    if (st == LLMQ_ERR_UNSUPPORTED) CHECK(strstr(err.msg, "token_embd.weight") && strstr(err.msg, "I3_G32S"));
    llmq_model_free(m);
    return st;
}

int main(void) {
    char dir[] = "/tmp/llmq-model-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[64];
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    MODEL_CASE("valid tiny model", LLMQ_OK, (void)0);
    MODEL_CASE("missing tensor", LLMQ_ERR_MISSING, k.skip = "blk.0.ffn_up.weight");
    MODEL_CASE("missing embedding", LLMQ_ERR_MISSING, k.skip = "token_embd.weight");
    MODEL_CASE("wrong shape", LLMQ_ERR_SHAPE, k.bad_shape = "blk.0.attn_q.weight");
    MODEL_CASE("embedding rows differ from the vocabulary", LLMQ_ERR_SHAPE, k.emb_rows = V + 3);
    MODEL_CASE("head count does not divide the width", LLMQ_ERR_SHAPE, k.heads = 3);
    MODEL_CASE("kv heads do not divide heads", LLMQ_ERR_SHAPE, k.heads = 4; k.kv_heads = 3);
    MODEL_CASE("zero heads", LLMQ_ERR_SHAPE, k.heads = 0);
    MODEL_CASE("vocab arrays of unequal length", LLMQ_ERR_SHAPE, k.n_scores = V - 2);
    MODEL_CASE("unknown architecture", LLMQ_ERR_UNSUPPORTED, k.arch = "gpt9");
    MODEL_CASE("missing hyper-parameter", LLMQ_ERR_MISSING, k.drop_block_count = true);
    CHECK_EQ_INT(open_int3(path, false), LLMQ_ERR_UNSUPPORTED);
    CHECK_EQ_INT(open_int3(path, true), LLMQ_ERR_MISSING);
    unlink(path);
    rmdir(dir);
    TEST_END();
}
