/* GGUF corruptions, each of which must fail with a specific status (and,
 * under ASan+UBSan, without any memory error). Files are assembled field by
 * field so each case changes exactly one thing. */
#include "io/gguf.h"
#include "quant/types.h"
#include "test.h"

typedef struct buf { uint8_t p[4096]; size_t n; } buf;
static void put(buf *b, const void *v, size_t n) { memcpy(b->p + b->n, v, n); b->n += n; }
static void u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void str(buf *b, const char *s) { u64(b, strlen(s)); put(b, s, strlen(s)); }

/* Knobs of the generated file; defaults give a valid file with two F32
 * tensors "a" (8 x 2) and "b" (8), and keys general.architecture + one
 * string array. */
typedef struct spec {
    const char *magic;
    uint32_t version;
    int64_t n_tensors, n_kv;         /* -1: the true counts */
    const char *key2;                /* name of the second key */
    uint32_t arr_type;               /* element type of the array key */
    uint64_t arr_n;                  /* its claimed count (true: 2) */
    uint64_t str_len;                /* claimed length of the arch string (true: 5) */
    uint32_t kv_type;                /* type of general.architecture (true: STRING) */
    int align_kind;                  /* 0 none, 1 u32 value align_val, 2 as u64 */
    uint32_t align_val;
    const char *name_b;              /* name of the second tensor */
    uint32_t n_dims_a;               /* 2 */
    uint64_t ne_a0, ne_a1;           /* 8, 2 */
    uint32_t type_a;                 /* F32 */
    uint64_t off_b;                  /* 64 */
    size_t data_bytes;               /* 64 + 32 */
    size_t truncate;                 /* 0: whole file */
} spec;

static spec valid(void) {
    return (spec){"GGUF", 3, -1, -1, "tokenizer.ggml.tokens", LQ_GGUF_STRING, 2, 5, LQ_GGUF_STRING, 0, 32,
                  "b", 2, 8, 2, LQ_TYPE_F32, 64, 96, 0};
}

static size_t build(const spec *s, buf *b) {
    b->n = 0;
    put(b, s->magic, 4);
    u32(b, s->version);
    u64(b, s->n_tensors >= 0 ? (uint64_t)s->n_tensors : 2);
    u64(b, s->n_kv >= 0 ? (uint64_t)s->n_kv : (s->align_kind ? 3 : 2));
    str(b, "general.architecture");
    u32(b, s->kv_type);
    u64(b, s->str_len);
    put(b, "llama", 5);
    str(b, s->key2);
    u32(b, LQ_GGUF_ARRAY);
    u32(b, s->arr_type);
    u64(b, s->arr_n);
    str(b, "hi");
    str(b, "yo");
    if (s->align_kind) {
        str(b, "general.alignment");
        u32(b, s->align_kind == 1 ? LQ_GGUF_UINT32 : LQ_GGUF_UINT64);
        if (s->align_kind == 1) u32(b, s->align_val);
        else u64(b, s->align_val);
    }
    str(b, "a");
    u32(b, s->n_dims_a);
    u64(b, s->ne_a0);
    if (s->n_dims_a > 1) u64(b, s->ne_a1);
    for (uint32_t d = 2; d < s->n_dims_a && d < 8; d++) u64(b, 1);
    u32(b, s->type_a);
    u64(b, 0);
    str(b, s->name_b);
    u32(b, 1);
    u64(b, 8);
    u32(b, LQ_TYPE_F32);
    u64(b, s->off_b);
    uint32_t al = s->align_kind == 1 && s->align_val && !(s->align_val & (s->align_val - 1)) ? s->align_val : 32;
    while (b->n % al) b->p[b->n++] = 0;
    memset(b->p + b->n, 0, s->data_bytes);
    b->n += s->data_bytes;
    return s->truncate ? s->truncate : b->n;
}

static llmq_status parse_spec(const spec *s) {
    buf b;
    size_t n = build(s, &b);
    /* copy to an exact-size heap block so ASan sees any over-read */
    uint8_t *p = malloc(n);
    memcpy(p, b.p, n);
    lq_gguf *g = NULL;
    lq_err e = {0};
    llmq_status st = lq_gguf_parse(p, n, &g, &e);
    if (st != LLMQ_OK) printf("    -> %s: %s\n", llmq_status_str(st), e.msg);
    lq_gguf_free(g);
    free(p);
    return st;
}

#define CASE(desc, want, ...)                                                  \
    do {                                                                       \
        spec s = valid();                                                      \
        __VA_ARGS__;                                                           \
        printf("case: %s\n", desc);                                            \
        llmq_status got = parse_spec(&s);                                      \
        CHECK_MSG(got == (want), "%s: got %s, want %s", desc, llmq_status_str(got), llmq_status_str(want)); \
    } while (0)

int main(void) {
    CASE("valid file", LLMQ_OK, (void)0);
    CASE("valid file, alignment 64", LLMQ_OK, s.align_kind = 1; s.align_val = 64);
    CASE("bad magic", LLMQ_ERR_MAGIC, s.magic = "GGUX");
    CASE("version 1", LLMQ_ERR_VERSION, s.version = 1);
    CASE("version 4", LLMQ_ERR_VERSION, s.version = 4);
    CASE("huge n_kv", LLMQ_ERR_OVERFLOW, s.n_kv = INT64_MAX);
    CASE("huge n_tensors", LLMQ_ERR_OVERFLOW, s.n_tensors = (int64_t)1 << 60);
    CASE("string length past the end", LLMQ_ERR_BOUNDS, s.str_len = 1u << 30);
    CASE("huge string length", LLMQ_ERR_BOUNDS, s.str_len = UINT64_MAX);
    CASE("huge array count", LLMQ_ERR_OVERFLOW, s.arr_n = UINT64_MAX / 2);
    CASE("nested array", LLMQ_ERR_FORMAT, s.arr_type = LQ_GGUF_ARRAY);
    CASE("unknown array element type", LLMQ_ERR_FORMAT, s.arr_type = 99);
    CASE("unknown value type", LLMQ_ERR_FORMAT, s.kv_type = 13);
    CASE("duplicate key", LLMQ_ERR_DUPLICATE, s.key2 = "general.architecture");
    CASE("duplicate tensor name", LLMQ_ERR_DUPLICATE, s.name_b = "a");
    CASE("zero dimensions", LLMQ_ERR_SHAPE, s.n_dims_a = 0);
    CASE("five dimensions", LLMQ_ERR_SHAPE, s.n_dims_a = 5);
    CASE("zero-size dimension", LLMQ_ERR_SHAPE, s.ne_a1 = 0);
    CASE("dimension product overflows", LLMQ_ERR_OVERFLOW, s.ne_a0 = (uint64_t)1 << 40; s.ne_a1 = (uint64_t)1 << 40);
    CASE("dimension above INT64_MAX", LLMQ_ERR_SHAPE, s.ne_a1 = UINT64_MAX);
    CASE("row not a multiple of the block size", LLMQ_ERR_SHAPE, s.type_a = LQ_TYPE_Q4_0);
    CASE("unknown tensor type", LLMQ_ERR_TYPE, s.type_a = 50); /* ids 40..63 belong to no format */
    CASE("deprecated tensor type (Q4_2)", LLMQ_ERR_TYPE, s.type_a = 4);
    CASE("misaligned offset", LLMQ_ERR_ALIGN, s.off_b = 65);
    CASE("offset past the end", LLMQ_ERR_BOUNDS, s.off_b = 1u << 20);
    CASE("huge offset", LLMQ_ERR_BOUNDS, s.off_b = UINT64_MAX - 31);
    CASE("overlapping tensors", LLMQ_ERR_OVERLAP, s.off_b = 32);
    CASE("data section truncated", LLMQ_ERR_BOUNDS, s.data_bytes = 80);
    CASE("alignment 0", LLMQ_ERR_ALIGN, s.align_kind = 1; s.align_val = 0);
    CASE("alignment 3", LLMQ_ERR_ALIGN, s.align_kind = 1; s.align_val = 3);
    CASE("alignment stored as u64", LLMQ_ERR_ALIGN, s.align_kind = 2; s.align_val = 32);
    CASE("empty file", LLMQ_ERR_BOUNDS, s.truncate = 0; s.magic = "GGUF"; s.truncate = 3);
    /* truncation at every byte of the header and tensor infos: always an
     * error, never a crash */
    spec v = valid();
    buf b;
    size_t full = build(&v, &b);
    int bad = 0;
    for (size_t cut = 1; cut < full; cut++) {
        v.truncate = cut;
        llmq_status st = LLMQ_OK;
        uint8_t *p = malloc(cut);
        memcpy(p, b.p, cut);
        lq_gguf *g = NULL;
        st = lq_gguf_parse(p, cut, &g, NULL);
        lq_gguf_free(g);
        free(p);
        if (st == LLMQ_OK || (st != LLMQ_ERR_BOUNDS && st != LLMQ_ERR_OVERFLOW)) bad++;
    }
    CHECK_MSG(bad == 0, "%d truncations were accepted or gave an unexpected status", bad);
    printf("truncations at every one of %zu byte positions rejected\n", full - 1);
    TEST_END();
}
