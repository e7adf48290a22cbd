/* llama2.c checkpoints: legacy (7 int32 then fp32 weights, RoPE tables in the
 * middle) and v1 ("ak42" magic, 256-byte header, weights in export.py's
 * version1_export order). Tensors come out with GGUF llama names and GGML
 * order shapes; their data points into the caller's buffer. */
#include "io/llama2c.h"

#include "io/cursor.h"
#include "quant/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define L2C_MAGIC 0x616b3432u
#define L2C_V1_HEADER 256

/* The kinds of weight in a checkpoint. A per-layer kind is stored as one
 * block of n_layers equal slices. */
enum {
    K_EMB, K_ATTN_NORM, K_Q, K_K, K_V, K_O, K_FFN_NORM, K_GATE, K_DOWN, K_UP, K_OUT_NORM, K_FREQ, K_OUTPUT,
    K_COUNT
};

typedef struct l2c_kind {
    const char *name;  /* printf format with the layer number, or plain */
    bool per_layer;
    uint32_t n_dims;
    uint64_t ne0, ne1; /* GGML order: ne0 = in (contiguous), ne1 = out */
    uint64_t bytes;    /* of one slice */
    uint64_t off;      /* of the first slice, from the start of the file */
} l2c_kind;

/* Storage order of the kinds; K_COUNT ends a list. */
static const int l2c_order_legacy[] = {K_EMB, K_ATTN_NORM, K_Q,    K_K,        K_V,    K_O,      K_FFN_NORM,
                                       K_GATE, K_DOWN,   K_UP, K_OUT_NORM, K_FREQ, K_OUTPUT, K_COUNT};
static const int l2c_order_v1[] = {K_ATTN_NORM, K_FFN_NORM, K_OUT_NORM, K_EMB,  K_Q,      K_K,    K_V,
                                   K_O,         K_GATE,     K_DOWN,     K_UP,   K_OUTPUT, K_COUNT};

/* Reads the header fields; on return the cursor sits at the first weight. */
static llmq_status l2c_header(lq_cursor *c, lq_llama2c *m, lq_err *e) {
    uint32_t magic = 0;
    int32_t v[7];
    if (lq_cur_left(c) >= 4) memcpy(&magic, lq_cur_ptr(c), 4);
    if (magic == L2C_MAGIC) {
        int32_t version;
        uint8_t shared;
        LQ_CHECK(lq_cur_left(c) >= L2C_V1_HEADER, e, LLMQ_ERR_BOUNDS,
                 "llama2.c v1 header needs %d bytes, file has %zu", L2C_V1_HEADER, lq_cur_left(c));
        lq_cur_skip(c, 4);
        lq_cur_i32(c, &version);
        LQ_CHECK(version == 1, e, LLMQ_ERR_VERSION, "llama2.c checkpoint version %d (only 1 is fp32)", version);
        lq_cur_read(c, v, sizeof v);
        lq_cur_u8(c, &shared);
        c->off = L2C_V1_HEADER;
        m->version = 1;
        m->shared_classifier = shared != 0;
    } else {
        LQ_CHECK(lq_cur_read(c, v, sizeof v), e, LLMQ_ERR_BOUNDS,
                 "llama2.c header needs %zu bytes, file has %zu", sizeof v, lq_cur_left(c));
        m->version = 0;
        m->shared_classifier = v[5] > 0; /* negative vocab: separate classifier */
        LQ_CHECK(v[5] != INT32_MIN, e, LLMQ_ERR_FORMAT, "llama2.c header: vocab_size %d is invalid", (int)v[5]);
        if (v[5] < 0) v[5] = -v[5];
    }
    m->dim = v[0], m->hidden_dim = v[1], m->n_layers = v[2], m->n_heads = v[3];
    m->n_kv_heads = v[4], m->vocab_size = v[5], m->seq_len = v[6];
    return LLMQ_OK;
}

static llmq_status l2c_check_hparams(const lq_llama2c *m, lq_err *e) {
    const char *names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
    const int vals[7] = {m->dim, m->hidden_dim, m->n_layers, m->n_heads, m->n_kv_heads, m->vocab_size, m->seq_len};
    for (int i = 0; i < 7; i++)
        LQ_CHECK(vals[i] > 0, e, LLMQ_ERR_FORMAT, "llama2.c header: %s is %d, must be positive", names[i], vals[i]);
    LQ_CHECK(m->dim % m->n_heads == 0, e, LLMQ_ERR_SHAPE,
             "head count does not divide the width (dim %d, n_heads %d)", m->dim, m->n_heads);
    LQ_CHECK(m->n_heads % m->n_kv_heads == 0, e, LLMQ_ERR_SHAPE,
             "kv head count does not divide the head count (n_heads %d, n_kv_heads %d)", m->n_heads, m->n_kv_heads);
    LQ_CHECK((m->dim / m->n_heads) % 2 == 0, e, LLMQ_ERR_SHAPE,
             "head size %d is odd: rotary embedding needs pairs", m->dim / m->n_heads);
    return LLMQ_OK;
}

/* Fills the kinds' shapes and byte sizes (checked), not yet their offsets. */
static llmq_status l2c_kinds(const lq_llama2c *m, l2c_kind *k, lq_err *e) {
    uint64_t dim = (uint64_t)m->dim, hid = (uint64_t)m->hidden_dim, voc = (uint64_t)m->vocab_size;
    uint64_t kv = dim / (uint64_t)m->n_heads * (uint64_t)m->n_kv_heads; /* kv_dim */
    uint64_t head = dim / (uint64_t)m->n_heads;
    /* name, per_layer, n_dims, ne0, ne1 */
    const l2c_kind init[K_COUNT] = {
        [K_EMB] = {"token_embd.weight", false, 2, dim, voc, 0, 0},
        [K_ATTN_NORM] = {"blk.%d.attn_norm.weight", true, 1, dim, 1, 0, 0},
        [K_Q] = {"blk.%d.attn_q.weight", true, 2, dim, dim, 0, 0},
        [K_K] = {"blk.%d.attn_k.weight", true, 2, dim, kv, 0, 0},
        [K_V] = {"blk.%d.attn_v.weight", true, 2, dim, kv, 0, 0},
        [K_O] = {"blk.%d.attn_output.weight", true, 2, dim, dim, 0, 0},
        [K_FFN_NORM] = {"blk.%d.ffn_norm.weight", true, 1, dim, 1, 0, 0},
        [K_GATE] = {"blk.%d.ffn_gate.weight", true, 2, dim, hid, 0, 0},  /* w1 (hidden, dim) */
        [K_DOWN] = {"blk.%d.ffn_down.weight", true, 2, hid, dim, 0, 0},  /* w2 (dim, hidden) */
        [K_UP] = {"blk.%d.ffn_up.weight", true, 2, dim, hid, 0, 0},      /* w3 (hidden, dim) */
        [K_OUT_NORM] = {"output_norm.weight", false, 1, dim, 1, 0, 0},
        [K_FREQ] = {NULL, false, 2, head, (uint64_t)m->seq_len, 0, 0},   /* cos and sin (seq, head/2) each */
        [K_OUTPUT] = {"output.weight", false, 2, dim, voc, 0, 0},
    };
    memcpy(k, init, sizeof init);
    for (int i = 0; i < K_COUNT; i++)
        LQ_CHECK(lq_mul_u64_ok(k[i].ne0, k[i].ne1, &k[i].bytes) && lq_mul_u64_ok(k[i].bytes, 4, &k[i].bytes), e,
                 LLMQ_ERR_OVERFLOW, "llama2.c header: tensor sizes overflow");
    return LLMQ_OK;
}

/* Assigns offsets in storage order; fails unless the file holds them all. */
static llmq_status l2c_layout(const lq_llama2c *m, l2c_kind *k, uint64_t start, uint64_t len, lq_err *e) {
    const int *order = m->version == 1 ? l2c_order_v1 : l2c_order_legacy;
    uint64_t off = start;
    for (const int *o = order; *o != K_COUNT; o++) {
        l2c_kind *kk = &k[*o];
        if (*o == K_OUTPUT && m->shared_classifier) continue;
        uint64_t n = kk->per_layer ? (uint64_t)m->n_layers : 1, block;
        kk->off = off;
        LQ_CHECK(lq_mul_u64_ok(kk->bytes, n, &block) && lq_add_u64_ok(off, block, &off), e, LLMQ_ERR_OVERFLOW,
                 "llama2.c header: total weight size overflows");
    }
    LQ_CHECK(off <= len, e, LLMQ_ERR_BOUNDS, "truncated: needs %llu bytes, file has %llu",
             (unsigned long long)off, (unsigned long long)len);
    return LLMQ_OK;
}

static llmq_status l2c_add(lq_llama2c *m, const l2c_kind *k, int layer, const uint8_t *buf, lq_err *e) {
    lq_tensor *t = &m->tensors[m->n_tensors];
    char name[64];
    snprintf(name, sizeof name, k->name, layer); /* formats without %d ignore the layer */
    t->name = lq_strndup(name, strlen(name));
    LQ_CHECK(t->name, e, LLMQ_ERR_NOMEM, "out of memory");
    m->n_tensors++;
    t->type = LQ_TYPE_F32;
    t->n_dims = k->n_dims;
    t->ne[0] = (int64_t)k->ne0, t->ne[1] = (int64_t)k->ne1, t->ne[2] = 1, t->ne[3] = 1;
    t->nbytes = k->bytes;
    t->data = buf + k->off + (uint64_t)layer * k->bytes;
    return LLMQ_OK;
}

/* Tensor table in GGUF order: token_embd, blk.0.* .. blk.N.*, output_norm, output. */
static llmq_status l2c_tensors(lq_llama2c *m, const l2c_kind *k, const uint8_t *buf, lq_err *e) {
    static const int per_layer[] = {K_ATTN_NORM, K_Q, K_K, K_V, K_O, K_FFN_NORM, K_GATE, K_DOWN, K_UP};
    const int n_per = (int)(sizeof per_layer / sizeof per_layer[0]);
    int total;
    LQ_CHECK(!__builtin_mul_overflow(m->n_layers, n_per, &total) && !__builtin_add_overflow(total, 3, &total), e,
             LLMQ_ERR_OVERFLOW, "llama2.c header: %d layers is too many", m->n_layers);
    m->tensors = lq_calloc_array((size_t)total, sizeof *m->tensors);
    LQ_CHECK(m->tensors, e, LLMQ_ERR_NOMEM, "out of memory for %d tensors", total);
    LQ_TRY(l2c_add(m, &k[K_EMB], 0, buf, e));
    for (int l = 0; l < m->n_layers; l++)
        for (int i = 0; i < n_per; i++) LQ_TRY(l2c_add(m, &k[per_layer[i]], l, buf, e));
    LQ_TRY(l2c_add(m, &k[K_OUT_NORM], 0, buf, e));
    if (!m->shared_classifier) LQ_TRY(l2c_add(m, &k[K_OUTPUT], 0, buf, e));
    return LLMQ_OK;
}

static llmq_status l2c_parse_into(const void *buf, size_t len, lq_llama2c *m, lq_err *e) {
    lq_cursor c = lq_cursor_make(buf, len);
    LQ_TRY(l2c_header(&c, m, e));
    LQ_TRY(l2c_check_hparams(m, e));
    l2c_kind k[K_COUNT];
    LQ_TRY(l2c_kinds(m, k, e));
    LQ_TRY(l2c_layout(m, k, c.off, len, e));
    return l2c_tensors(m, k, buf, e);
}

llmq_status lq_llama2c_parse(const void *buf, size_t len, lq_llama2c **out, lq_err *e) {
    *out = NULL;
    LQ_CHECK(buf || len == 0, e, LLMQ_ERR_ARG, "NULL buffer");
    lq_llama2c *m = calloc(1, sizeof *m);
    LQ_CHECK(m, e, LLMQ_ERR_NOMEM, "out of memory");
    llmq_status st = l2c_parse_into(buf, len, m, e);
    if (st != LLMQ_OK) {
        lq_llama2c_free(m);
        return st;
    }
    *out = m;
    return LLMQ_OK;
}

void lq_llama2c_free(lq_llama2c *c) {
    if (!c) return;
    for (int i = 0; i < c->n_tensors; i++) free((void *)c->tensors[i].name);
    free(c->tensors);
    free(c);
}
