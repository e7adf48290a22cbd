/* BERT GGUF files (llama.cpp's "bert" layout) through the public
 * llmq_model_open: a tiny valid encoder (one matrix stored as Q8_0) must load,
 * tokenize its phantom-space WordPiece vocabulary as BERT does, embed, and
 * survive llmq convert / quantize round trips; each corruption must be
 * rejected with a specific status, not a crash. */
#include "io/gguf.h"
#include "quant/types.h"
#include "test.h"

#include <unistd.h>

enum { V = 12, C = 32, F = 64, P = 16, K = 2, H = 2 };

typedef struct knobs {
    const char *skip;       /* tensor left out */
    const char *bad_shape;  /* tensor written with one row too many */
    const char *skip_key;   /* metadata key left out */
    int pooling;            /* bert.pooling_type */
    bool causal;
    bool upper;             /* tokenizer.llmq.lowercase = false */
    uint32_t q8_type;       /* type of blk.0.attn_q.weight */
    const char *tok_model;  /* tokenizer.ggml.model */
    int heads;
} knobs;

static knobs defaults(void) { return (knobs){NULL, NULL, NULL, 1, false, false, LQ_TYPE_Q8_0, "bert", H}; }

#define U "\xe2\x96\x81" /* U+2581: a word-initial piece */
/* 0..4 special; "llo" and "x" are continuations (##llo, ##x) */
static const char *const toks[V] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", U "hello",
                                    U "he",   "llo",   "x",     U "!",   U "w",    U "a"};

static void add(lq_gguf_writer *w, const knobs *k, const char *name, int64_t ne0, int64_t ne1, float base) {
    if (k->skip && strcmp(k->skip, name) == 0) return;
    if (k->bad_shape && strcmp(k->bad_shape, name) == 0) ne1 += 1;
    size_t n = (size_t)(ne0 * ne1);
    float *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = base + (float)((i * 7919 + (size_t)ne1) % 13) / 26.0f - 0.25f;
    int64_t ne[2] = {ne0, ne1};
    uint32_t type = strcmp(name, "blk.0.attn_q.weight") == 0 ? k->q8_type : LQ_TYPE_F32;
    size_t bytes = lq_row_size(type, ne0) * (size_t)ne1;
    void *q = malloc(bytes);
    if (type == LQ_TYPE_F32) memcpy(q, d, bytes);
    else if (type == LQ_TYPE_F16) for (size_t i = 0; i < n; i++) ((uint16_t *)q)[i] = lq_fp32_to_fp16(d[i]);
    else for (int64_t r = 0; r < ne1; r++)
        lq_type_get(type)->from_float_ref(d + r * ne0, (char *)q + (size_t)r * lq_row_size(type, ne0), ne0);
    lq_gguf_add_tensor(w, name, type, ne1 > 1 ? 2 : 1, ne, q, bytes);
    free(q);
    free(d);
}

static void key_u32(lq_gguf_writer *w, const knobs *k, const char *key, uint32_t v) {
    if (!k->skip_key || strcmp(k->skip_key, key)) lq_gguf_add_u32(w, key, v);
}

static void write_model(const knobs *k, const char *path) {
    lq_gguf_writer *w = lq_gguf_writer_new(32);
    lq_gguf_add_str(w, "general.architecture", "bert");
    key_u32(w, k, "bert.context_length", P);
    key_u32(w, k, "bert.embedding_length", C);
    key_u32(w, k, "bert.feed_forward_length", F);
    key_u32(w, k, "bert.block_count", 1);
    key_u32(w, k, "bert.attention.head_count", (uint32_t)k->heads);
    lq_gguf_add_f32(w, "bert.attention.layer_norm_epsilon", 1e-12f);
    lq_gguf_add_bool(w, "bert.attention.causal", k->causal);
    lq_gguf_add_u32(w, "bert.pooling_type", (uint32_t)k->pooling);
    int32_t types[V] = {3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    lq_gguf_add_str(w, "tokenizer.ggml.model", k->tok_model);
    lq_gguf_add_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, V);
    lq_gguf_add_arr(w, "tokenizer.ggml.token_type", LQ_GGUF_INT32, types, V);
    key_u32(w, k, "tokenizer.ggml.token_type_count", K);
    key_u32(w, k, "tokenizer.ggml.unknown_token_id", 1);
    key_u32(w, k, "tokenizer.ggml.cls_token_id", 2);
    key_u32(w, k, "tokenizer.ggml.seperator_token_id", 3);
    if (k->upper) lq_gguf_add_bool(w, "tokenizer.llmq.lowercase", false);
    add(w, k, "token_embd.weight", C, V, 0);
    add(w, k, "token_types.weight", C, K, 0);
    add(w, k, "position_embd.weight", C, P, 0);
    add(w, k, "token_embd_norm.weight", C, 1, 1);
    add(w, k, "token_embd_norm.bias", C, 1, 0);
    static const struct { const char *n; int out, in; } sub[] = {
        {"attn_q", C, C}, {"attn_k", C, C}, {"attn_v", C, C}, {"attn_output", C, C},
        {"attn_output_norm", C, 0}, {"ffn_up", F, C}, {"ffn_down", C, F}, {"layer_output_norm", C, 0}};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        char n[64];
        snprintf(n, sizeof n, "blk.0.%s.weight", sub[i].n);
        if (sub[i].in) add(w, k, n, sub[i].in, sub[i].out, 0);
        else add(w, k, n, sub[i].out, 1, 1);
        snprintf(n, sizeof n, "blk.0.%s.bias", sub[i].n);
        add(w, k, n, sub[i].out, 1, 0);
    }
    lq_err e = {0};
    lq_gguf_write_file(w, path, &e);
    lq_gguf_writer_free(w);
}

static llmq_status open_with(const knobs *k, const char *path) {
    write_model(k, path);
    llmq_model *m = NULL;
    llmq_error err = {0};
    llmq_status st = llmq_model_open(path, NULL, &m, &err);
    if (st != LLMQ_OK) printf("    -> %s: %s\n", llmq_status_str(st), err.msg);
    CHECK(st == LLMQ_OK || (m == NULL && err.msg[0]));
    llmq_model_free(m);
    return st;
}


static double cosine(const float *a, const float *b) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < C; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return ab / sqrt(aa * bb);
}

static void embed_file(const char *path, const char *text, float *out) {
    llmq_model *m = NULL;
    llmq_error err = {0};
    CHECK(llmq_model_open(path, NULL, &m, &err) == LLMQ_OK);
    if (!m) return;
    CHECK(llmq_embed(m, text, strlen(text), out, &err) == LLMQ_OK);
    llmq_model_free(m);
}

/* The valid model: WordPiece from the phantom-space vocabulary, an embedding,
 * and convert / quantize that reopen to the same (or close) embeddings. */
static void valid_model(const char *dir, const char *path) {
    knobs k = defaults();
    write_model(&k, path);
    llmq_model *m = NULL;
    llmq_error err = {0};
    CHECK(llmq_model_open(path, NULL, &m, &err) == LLMQ_OK);
    if (!m) return;
    llmq_model_info in;
    llmq_model_get_info(m, &in);
    CHECK(in.arch == LLMQ_ARCH_BERT && strcmp(in.arch_name, "bert") == 0 && in.n_vocab == V && in.n_embd == C);
    /* "helloo" cannot be covered ("##o" is missing): the whole word is [UNK] */
    const char *text = "HELLO hex! helloo";
    int32_t ids[16];
    size_t n = 0;
    CHECK(llmq_tokenize(m, text, strlen(text), 1, ids, 16, &n) == LLMQ_OK);
    int32_t want[] = {2, 5, 6, 8, 9, 1, 3};
    CHECK_EQ_INT(n, 7);
    for (size_t i = 0; i < n && i < 7; i++) CHECK_EQ_INT(ids[i], want[i]);
    float e0[C], e1[C], e2[C];
    CHECK(llmq_embed(m, text, strlen(text), e0, &err) == LLMQ_OK);
    double norm = 0;
    for (int i = 0; i < C; i++) norm += (double)e0[i] * e0[i];
    CHECK_NEAR(norm, 1.0, 1e-5);
    char p1[96], p2[96];
    snprintf(p1, sizeof p1, "%s/f32.gguf", dir);
    snprintf(p2, sizeof p2, "%s/q8.gguf", dir);
    CHECK(llmq_model_save_gguf(m, p1, &err) == LLMQ_OK);
    llmq_quantize_params qp = llmq_quantize_default_params();
    qp.type = "Q8_0";
    CHECK(llmq_model_quantize(m, p2, &qp, &err) == LLMQ_OK);
    llmq_model_free(m);
    embed_file(p1, text, e1);
    embed_file(p2, text, e2);
    CHECK_NEAR(cosine(e0, e1), 1.0, 1e-6);
    CHECK(cosine(e0, e2) > 0.999);
    unlink(p1);
    unlink(p2);
    /* a cased vocabulary: "HELLO" stays upper case and is unknown */
    k.upper = true;
    write_model(&k, path);
    CHECK(llmq_model_open(path, NULL, &m, &err) == LLMQ_OK);
    if (!m) return;
    CHECK(llmq_tokenize(m, "HELLO hello", 11, 0, ids, 16, &n) == LLMQ_OK);
    CHECK(n == 2 && ids[0] == 1 && ids[1] == 5);
    llmq_model_free(m);
}

int main(void) {
    char dir[] = "/tmp/llmq-bertgguf-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[64];
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    valid_model(dir, path);
    MODEL_CASE("valid tiny model", LLMQ_OK, (void)0);
    MODEL_CASE("F16 matrix", LLMQ_OK, k.q8_type = LQ_TYPE_F16);
    MODEL_CASE("missing matrix", LLMQ_ERR_MISSING, k.skip = "blk.0.ffn_up.weight");
    MODEL_CASE("missing bias", LLMQ_ERR_MISSING, k.skip = "blk.0.attn_output.bias");
    MODEL_CASE("missing embedding", LLMQ_ERR_MISSING, k.skip = "token_embd.weight");
    MODEL_CASE("missing token-type embedding", LLMQ_ERR_MISSING, k.skip = "token_types.weight");
    MODEL_CASE("wrong shape", LLMQ_ERR_SHAPE, k.bad_shape = "blk.0.ffn_down.weight");
    MODEL_CASE("wrong shape of a quantized matrix", LLMQ_ERR_SHAPE, k.bad_shape = "blk.0.attn_q.weight");
    MODEL_CASE("position embedding longer than the context", LLMQ_ERR_SHAPE, k.bad_shape = "position_embd.weight");
    MODEL_CASE("missing hyper-parameter", LLMQ_ERR_MISSING, k.skip_key = "bert.block_count");
    MODEL_CASE("missing context length", LLMQ_ERR_MISSING, k.skip_key = "bert.context_length");
    MODEL_CASE("head count does not divide the width", LLMQ_ERR_SHAPE, k.heads = 3);
    MODEL_CASE("zero heads", LLMQ_ERR_FORMAT, k.heads = 0);
    MODEL_CASE("CLS pooling", LLMQ_ERR_UNSUPPORTED, k.pooling = 2);
    MODEL_CASE("causal attention", LLMQ_ERR_UNSUPPORTED, k.causal = true);
    MODEL_CASE("not a WordPiece vocabulary", LLMQ_ERR_UNSUPPORTED, k.tok_model = "llama");
    MODEL_CASE("token type count differs from the tensor", LLMQ_ERR_SHAPE, k.bad_shape = "token_types.weight");
    unlink(path);
    rmdir(dir);
    TEST_END();
}
