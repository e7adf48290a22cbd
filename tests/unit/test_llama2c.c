/* llama2.c checkpoint reader: the real stories260K file (legacy header) and
 * synthetic v1 / legacy files whose weights are their own float index, so
 * each tensor's first value says where the parser pointed it. */
#include "io/llama2c.h"
#include "io/mapfile.h"
#include "quant/types.h"
#include "test.h"

#include <stdint.h>

static const lq_tensor *find(const lq_llama2c *c, const char *name) {
    for (int i = 0; i < c->n_tensors; i++)
        if (strcmp(c->tensors[i].name, name) == 0) return &c->tensors[i];
    return NULL;
}

/* Offset of t's data from the start of buf. */
static long off_of(const lq_tensor *t, const void *buf) {
    return t ? (long)((const uint8_t *)t->data - (const uint8_t *)buf) : -1;
}

static void test_stories260k(void) {
    lq_mapfile m;
    llmq_error e = {0};
    if (lq_map_open(SHARED_PATH("models/stories260K/stories260K.bin"), &m, &e) != LLMQ_OK) {
        CHECK_MSG(0, "%s", e.msg);
        return;
    }
    lq_llama2c *c = NULL;
    llmq_status st = lq_llama2c_parse(m.data, m.len, &c, &e);
    CHECK_MSG(st == LLMQ_OK, "%s", e.msg);
    if (c) {
        CHECK_EQ_INT(c->version, 0);
        CHECK_EQ_INT(c->dim, 64);
        CHECK_EQ_INT(c->hidden_dim, 172);
        CHECK_EQ_INT(c->n_layers, 5);
        CHECK_EQ_INT(c->n_heads, 8);
        CHECK_EQ_INT(c->n_kv_heads, 4);
        CHECK_EQ_INT(c->vocab_size, 512);
        CHECK_EQ_INT(c->seq_len, 512);
        CHECK(c->shared_classifier);
        CHECK_EQ_INT(c->n_tensors, 2 + 9 * 5);
        CHECK(find(c, "output.weight") == NULL);
        const lq_tensor *emb = find(c, "token_embd.weight");
        CHECK(emb && emb->ne[0] == 64 && emb->ne[1] == 512 && emb->n_dims == 2 && emb->type == LQ_TYPE_F32);
        CHECK_EQ_INT(off_of(emb, m.data), 28);
        float ref[4];
        memcpy(ref, m.data + 28, sizeof ref);
        CHECK(emb && memcmp(emb->data, ref, sizeof ref) == 0);
        const lq_tensor *k = find(c, "blk.2.attn_k.weight");
        CHECK(k && k->ne[0] == 64 && k->ne[1] == 32); /* kv_dim = 64 / 8 * 4 */
        const lq_tensor *down = find(c, "blk.4.ffn_down.weight");
        CHECK(down && down->ne[0] == 172 && down->ne[1] == 64 && down->nbytes == 172 * 64 * 4);
        const lq_tensor *n0 = find(c, "blk.0.attn_norm.weight");
        CHECK(n0 && n0->n_dims == 1 && n0->ne[0] == 64);
        CHECK_EQ_INT(off_of(n0, m.data), 28 + 4 * 512 * 64);
        /* wq follows all 5 attention norms */
        CHECK_EQ_INT(off_of(find(c, "blk.1.attn_q.weight"), m.data), 28 + 4 * (512 * 64 + 5 * 64 + 64 * 64));
        /* the file ends with output_norm then the RoPE tables (seq_len x head_size floats) */
        CHECK_EQ_INT(off_of(find(c, "output_norm.weight"), m.data) + 64 * 4 + 512 * 8 * 4, (long)m.len);
    }
    lq_llama2c_free(c);
    lq_map_close(&m);
}

typedef struct hp {
    int dim, hidden, layers, heads, kv, vocab, seq;
} hp;

/* Builds a checkpoint whose weight floats hold their own index. */
static uint8_t *make_file(int version, hp p, bool shared, size_t n_floats, size_t *len) {
    size_t hdr = version == 1 ? 256 : 28;
    *len = hdr + n_floats * 4;
    uint8_t *b = calloc(1, *len);
    int32_t v[7] = {p.dim, p.hidden, p.layers, p.heads, p.kv, p.vocab, p.seq};
    if (version == 1) {
        uint32_t magic = 0x616b3432;
        int32_t ver = 1;
        memcpy(b, &magic, 4);
        memcpy(b + 4, &ver, 4);
        memcpy(b + 8, v, sizeof v);
        b[36] = shared;
    } else {
        if (!shared) v[5] = -v[5];
        memcpy(b, v, sizeof v);
    }
    for (size_t i = 0; i < n_floats; i++) {
        float f = (float)i;
        memcpy(b + hdr + 4 * i, &f, 4);
    }
    return b;
}

/* First value (= float index) of a named tensor, or -1. */
static long first_index(const lq_llama2c *c, const char *name) {
    const lq_tensor *t = find(c, name);
    return t ? (long)((const float *)t->data)[0] : -1;
}

static void test_synthetic(void) {
    hp p = {8, 12, 2, 2, 1, 5, 4}; /* head 4, kv_dim 4 */
    long E = 5 * 8, N = 8, Q = 8 * 8, K = 4 * 8, F = 12 * 8;
    /* v1 order: attn norms, ffn norms, final norm, emb, wq, wk, wv, wo, w1, w2, w3, output */
    long total_v1 = 2 * N + 2 * N + N + E + 2 * (Q + K + K + Q + F + F + F) + E;
    size_t len;
    uint8_t *b = make_file(1, p, false, (size_t)total_v1, &len);
    lq_llama2c *c = NULL;
    llmq_error e = {0};
    CHECK_EQ_INT(lq_llama2c_parse(b, len, &c, &e), LLMQ_OK);
    if (c) {
        CHECK_EQ_INT(c->version, 1);
        CHECK(!c->shared_classifier);
        CHECK_EQ_INT(c->n_tensors, 3 + 9 * 2);
        CHECK_EQ_INT(first_index(c, "blk.1.attn_norm.weight"), N);
        CHECK_EQ_INT(first_index(c, "blk.0.ffn_norm.weight"), 2 * N);
        CHECK_EQ_INT(first_index(c, "output_norm.weight"), 4 * N);
        CHECK_EQ_INT(first_index(c, "token_embd.weight"), 5 * N);
        long wq = 5 * N + E;
        CHECK_EQ_INT(first_index(c, "blk.1.attn_q.weight"), wq + Q);
        CHECK_EQ_INT(first_index(c, "blk.0.attn_k.weight"), wq + 2 * Q);
        CHECK_EQ_INT(first_index(c, "blk.1.attn_v.weight"), wq + 2 * Q + 2 * K + K);
        long w1 = wq + 2 * (Q + K + K + Q);
        CHECK_EQ_INT(first_index(c, "blk.1.ffn_gate.weight"), w1 + F);
        CHECK_EQ_INT(first_index(c, "blk.0.ffn_down.weight"), w1 + 2 * F);
        CHECK_EQ_INT(first_index(c, "blk.1.ffn_up.weight"), w1 + 5 * F);
        CHECK_EQ_INT(first_index(c, "output.weight"), total_v1 - E);
        const lq_tensor *o = find(c, "output.weight");
        CHECK(o && o->ne[0] == 8 && o->ne[1] == 5);
        const lq_tensor *g = find(c, "blk.0.ffn_gate.weight");
        CHECK(g && g->ne[0] == 8 && g->ne[1] == 12);
    }
    lq_llama2c_free(c);
    free(b);

    /* legacy, negative vocab: emb, norms/weights per kind, final norm, RoPE
     * tables (seq x head floats in all), then the classifier */
    long rope = 4 * 4;
    long total_leg = E + 2 * N + 2 * (Q + K + K + Q) + 2 * N + 2 * (3 * F) + N + rope + E;
    b = make_file(0, p, false, (size_t)total_leg, &len);
    CHECK_EQ_INT(lq_llama2c_parse(b, len, &c, &e), LLMQ_OK);
    if (c) {
        CHECK_EQ_INT(c->version, 0);
        CHECK(!c->shared_classifier);
        CHECK_EQ_INT(c->vocab_size, 5);
        CHECK_EQ_INT(first_index(c, "token_embd.weight"), 0);
        CHECK_EQ_INT(first_index(c, "blk.1.attn_norm.weight"), E + N);
        CHECK_EQ_INT(first_index(c, "blk.0.attn_q.weight"), E + 2 * N);
        CHECK_EQ_INT(first_index(c, "blk.0.ffn_norm.weight"), E + 2 * N + 2 * (Q + K + K + Q));
        CHECK_EQ_INT(first_index(c, "output_norm.weight"), total_leg - E - rope - N);
        CHECK_EQ_INT(first_index(c, "output.weight"), total_leg - E);
    }
    lq_llama2c_free(c);
    /* one float short of the classifier: truncated */
    CHECK_EQ_INT(lq_llama2c_parse(b, len - 4, &c, &e), LLMQ_ERR_BOUNDS);
    CHECK(c == NULL);
    free(b);
    lq_llama2c_free(NULL);
}

int main(void) {
    test_stories260k();
    test_synthetic();
    TEST_END();
}
