/* GGUF writer -> reader round trip with every value type, and the real
 * SmolLM2 file. */
#include "io/gguf.h"
#include "io/mapfile.h"
#include "quant/types.h"
#include "test.h"

static void round_trip(void) {
    lq_gguf_writer *w = lq_gguf_writer_new(64);
    CHECK(lq_gguf_add_u32(w, "k.u32", 4000000000u) == LLMQ_OK);
    CHECK(lq_gguf_add_i32(w, "k.i32", -7) == LLMQ_OK);
    CHECK(lq_gguf_add_u64(w, "k.u64", 1ull << 40) == LLMQ_OK);
    CHECK(lq_gguf_add_f32(w, "k.f32", 0.25f) == LLMQ_OK);
    CHECK(lq_gguf_add_bool(w, "k.bool", true) == LLMQ_OK);
    CHECK(lq_gguf_add_str(w, "k.str", "h\xc3\xa9llo") == LLMQ_OK);
    CHECK(lq_gguf_add_u32(w, "general.alignment", 64) == LLMQ_OK);
    int32_t ints[3] = {1, -2, 3};
    CHECK(lq_gguf_add_arr(w, "k.arr", LQ_GGUF_INT32, ints, 3) == LLMQ_OK);
    const char *strs[] = {"a", "", "ccc"};
    CHECK(lq_gguf_add_arr_str(w, "k.strs", strs, NULL, 3) == LLMQ_OK);
    CHECK(lq_gguf_add_u32(w, "k.u32", 1) == LLMQ_ERR_DUPLICATE);
    float f[64];
    for (int i = 0; i < 64; i++) f[i] = (float)i - 3.5f;
    uint8_t q[2 * 18] = {0};
    q[0] = 0x00; q[1] = 0x3c; /* d = 1.0 */
    q[18] = 0x00; q[19] = 0x40; /* d = 2.0 */
    for (int i = 0; i < 16; i++) q[2 + i] = (uint8_t)(i | (15 - i) << 4), q[20 + i] = 0x88;
    int64_t ne_f[2] = {16, 4}, ne_q[1] = {64};
    CHECK(lq_gguf_add_tensor(w, "f", LQ_TYPE_F32, 2, ne_f, f, sizeof f) == LLMQ_OK);
    CHECK(lq_gguf_add_tensor(w, "q", LQ_TYPE_Q4_0, 1, ne_q, q, sizeof q) == LLMQ_OK);
    CHECK(lq_gguf_add_tensor(w, "bad", LQ_TYPE_Q4_0, 1, ne_q, q, 10) == LLMQ_ERR_SHAPE);
    uint8_t *buf;
    size_t len;
    lq_err e = {0};
    CHECK(lq_gguf_serialize(w, &buf, &len, &e) == LLMQ_OK);
    lq_gguf_writer_free(w);
    lq_gguf *g = NULL;
    CHECK(lq_gguf_parse(buf, len, &g, &e) == LLMQ_OK);
    if (!g) { free(buf); return; }
    int64_t i64;
    double f64;
    lq_str s;
    CHECK(g->version == 3 && g->alignment == 64 && g->n_kv == 9 && g->n_tensors == 2);
    CHECK(lq_gguf_get_i64(g, "k.u32", &i64) && i64 == 4000000000ll);
    CHECK(lq_gguf_get_i64(g, "k.i32", &i64) && i64 == -7);
    CHECK(lq_gguf_get_i64(g, "k.u64", &i64) && i64 == 1ll << 40);
    CHECK(lq_gguf_get_f64(g, "k.f32", &f64) && f64 == 0.25);
    CHECK(lq_gguf_get_i64(g, "k.bool", &i64) && i64 == 1);
    CHECK(lq_gguf_get_str(g, "k.str", &s) && lq_str_eq(s, "h\xc3\xa9llo"));
    CHECK(!lq_gguf_get_str(g, "k.u32", &s) && !lq_gguf_get_i64(g, "nope", &i64));
    const lq_gguf_kv *arr = lq_gguf_find(g, "k.arr"), *sa = lq_gguf_find(g, "k.strs");
    CHECK(arr && arr->arr_n == 3 && lq_gguf_arr_i64(arr, 1, &i64) && i64 == -2 && !lq_gguf_arr_i64(arr, 3, &i64));
    CHECK(sa && sa->arr_n == 3 && lq_str_eq(sa->arr_str[2], "ccc") && sa->arr_str[1].n == 0);
    const lq_gguf_tensor *tf = lq_gguf_find_tensor(g, "f"), *tq = lq_gguf_find_tensor(g, "q");
    CHECK(tf && tf->n_dims == 2 && tf->ne[0] == 16 && tf->ne[1] == 4 && tf->nbytes == sizeof f);
    CHECK(tf && memcmp(tf->data, f, sizeof f) == 0 && (tf->data - buf) % 64 == 0);
    CHECK(tq && tq->type == LQ_TYPE_Q4_0 && tq->offset % 64 == 0 && memcmp(tq->data, q, sizeof q) == 0);
    if (tq) {
        float out[64];
        lq_type_get(tq->type)->to_float(tq->data, out, 64);
        CHECK(out[0] == -8.0f && out[16] == 7.0f && out[32] == 0.0f && out[63] == 0.0f);
    }
    /* copying every kv into a second writer reproduces the same metadata */
    lq_gguf_writer *w2 = lq_gguf_writer_new(64);
    for (uint64_t i = 0; i < g->n_kv; i++) CHECK(lq_gguf_add_kv_copy(w2, &g->kv[i]) == LLMQ_OK);
    uint8_t *buf2;
    size_t len2;
    CHECK(lq_gguf_serialize(w2, &buf2, &len2, &e) == LLMQ_OK);
    size_t meta = (size_t)(g->tensors[0].name.p - (const char *)buf) - 8; /* up to the first tensor info */
    CHECK(len2 >= meta && memcmp(buf2 + 24, buf + 24, meta - 24) == 0);
    free(buf2);
    lq_gguf_writer_free(w2);
    lq_gguf_free(g);
    free(buf);
}

static void smollm2(void) {
    lq_mapfile m;
    lq_err e = {0};
    if (lq_map_open(TEST_PATH("models/SmolLM2-135M-Instruct-Q4_1.gguf"), &m, &e) != LLMQ_OK) {
        CHECK_MSG(0, "SmolLM2 missing (run scripts/setup.sh): %s", e.msg);
        return;
    }
    lq_gguf *g = NULL;
    CHECK(lq_gguf_parse(m.data, m.len, &g, &e) == LLMQ_OK);
    if (g) {
        lq_str arch;
        int64_t v;
        CHECK(lq_gguf_get_str(g, "general.architecture", &arch) && lq_str_eq(arch, "llama"));
        CHECK(lq_gguf_get_i64(g, "llama.block_count", &v) && v == 30);
        CHECK(lq_gguf_get_i64(g, "llama.embedding_length", &v) && v == 576);
        const lq_gguf_kv *toks = lq_gguf_find(g, "tokenizer.ggml.tokens");
        CHECK(toks && toks->arr_n == 49152);
        CHECK_EQ_INT(g->n_tensors, 272);
        const lq_gguf_tensor *t = lq_gguf_find_tensor(g, "blk.0.ffn_down.weight");
        CHECK(t && t->type == LQ_TYPE_Q4_1 && t->ne[0] == 1536 && t->ne[1] == 576);
        t = lq_gguf_find_tensor(g, "token_embd.weight");
        CHECK(t && t->type == LQ_TYPE_Q8_0 && t->ne[0] == 576 && t->ne[1] == 49152);
    }
    lq_gguf_free(g);
    lq_map_close(&m);
}

int main(void) {
    round_trip();
    smollm2();
    TEST_END();
}
