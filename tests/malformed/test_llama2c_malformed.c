/* Enumerated corruptions of llama2.c checkpoints: each must fail with one
 * specific status and never crash. Every case prints one line. */
#include "io/llama2c.h"
#include "io/mapfile.h"
#include "test.h"

#include <stdint.h>

static void expect(const char *name, llmq_status got, llmq_status want, const llmq_error *e) {
    printf("%-4s %-46s want %-14s got %-14s %s\n", got == want ? "ok" : "FAIL", name, llmq_status_str(want),
           llmq_status_str(got), got == LLMQ_OK ? "" : e->msg);
    CHECK_MSG(got == want, "%s: %d != %d", name, (int)got, (int)want);
}

static void run(const char *name, const void *buf, size_t len, llmq_status want) {
    lq_llama2c *c = NULL;
    llmq_error e = {0};
    llmq_status st = lq_llama2c_parse(buf, len, &c, &e);
    if (st != LLMQ_OK && c != NULL) st = (llmq_status)-1; /* failure must leave *out NULL */
    lq_llama2c_free(c);
    expect(name, st, want, &e);
}

typedef struct hdr_case {
    const char *name;
    int32_t v[7]; /* dim, hidden, layers, heads, kv_heads, vocab, seq */
    llmq_status want;
} hdr_case;

/* Legacy headers followed by 4 KB of zeros (enough for none of the
 * valid-looking ones, so those fail on size). */
static const hdr_case legacy_cases[] = {
    {"dim 0", {0, 172, 5, 8, 4, 512, 512}, LLMQ_ERR_FORMAT},
    {"negative dim", {-64, 172, 5, 8, 4, 512, 512}, LLMQ_ERR_FORMAT},
    {"hidden_dim 0", {64, 0, 5, 8, 4, 512, 512}, LLMQ_ERR_FORMAT},
    {"negative n_layers", {64, 172, -5, 8, 4, 512, 512}, LLMQ_ERR_FORMAT},
    {"n_heads 0", {64, 172, 5, 0, 4, 512, 512}, LLMQ_ERR_FORMAT},
    {"n_kv_heads 0", {64, 172, 5, 8, 0, 512, 512}, LLMQ_ERR_FORMAT},
    {"vocab 0", {64, 172, 5, 8, 4, 0, 512}, LLMQ_ERR_FORMAT},
    {"vocab INT32_MIN", {64, 172, 5, 8, 4, INT32_MIN, 512}, LLMQ_ERR_FORMAT},
    {"seq_len 0", {64, 172, 5, 8, 4, 512, 0}, LLMQ_ERR_FORMAT},
    {"negative seq_len", {64, 172, 5, 8, 4, 512, -1}, LLMQ_ERR_FORMAT},
    {"heads do not divide dim", {64, 172, 5, 7, 7, 512, 512}, LLMQ_ERR_SHAPE},
    {"kv heads do not divide heads", {64, 172, 5, 8, 3, 512, 512}, LLMQ_ERR_SHAPE},
    {"kv heads above heads", {64, 172, 5, 8, 16, 512, 512}, LLMQ_ERR_SHAPE},
    {"odd head size", {63, 172, 5, 9, 3, 512, 512}, LLMQ_ERR_SHAPE},
    {"dim x dim x layers overflows", {1 << 30, 1, 1 << 30, 1, 1, 1, 1}, LLMQ_ERR_OVERFLOW},
    {"total size overflows", {1 << 30, INT32_MAX, INT32_MAX, 2, 1, INT32_MAX, INT32_MAX}, LLMQ_ERR_OVERFLOW},
    {"huge but representable dims", {1 << 20, 1 << 20, 1, 2, 1, 1 << 20, 1 << 20}, LLMQ_ERR_BOUNDS},
    {"valid header, no weights", {64, 172, 5, 8, 4, 512, 512}, LLMQ_ERR_BOUNDS},
    {"valid header, negative vocab, no weights", {64, 172, 5, 8, 4, -512, 512}, LLMQ_ERR_BOUNDS},
};

static void header_cases(void) {
    uint8_t buf[28 + 4096];
    for (size_t i = 0; i < sizeof legacy_cases / sizeof legacy_cases[0]; i++) {
        memset(buf, 0, sizeof buf);
        memcpy(buf, legacy_cases[i].v, 28);
        run(legacy_cases[i].name, buf, sizeof buf, legacy_cases[i].want);
    }
    run("empty file", buf, 0, LLMQ_ERR_BOUNDS);
    run("file shorter than the header (27 bytes)", buf, 27, LLMQ_ERR_BOUNDS);

    /* v1: magic, version, 7 ints, shared byte, zero padding to 256 */
    uint8_t v1[256 + 64] = {0};
    uint32_t magic = 0x616b3432;
    int32_t hp[7] = {8, 12, 1, 2, 1, 4, 4};
    memcpy(v1, &magic, 4);
    memcpy(v1 + 8, hp, sizeof hp);
    int32_t versions[] = {7, 2, 0, -1};
    const char *vnames[] = {"v1 magic with version 7", "v1 magic with version 2 (Q8_0)", "v1 magic with version 0",
                            "v1 magic with version -1"};
    for (int i = 0; i < 4; i++) {
        memcpy(v1 + 4, &versions[i], 4);
        run(vnames[i], v1, sizeof v1, LLMQ_ERR_VERSION);
    }
    int32_t one = 1;
    memcpy(v1 + 4, &one, 4);
    run("v1 header cut at 100 bytes", v1, 100, LLMQ_ERR_BOUNDS);
    run("v1 header only 4 bytes (magic)", v1, 4, LLMQ_ERR_BOUNDS);
    run("v1 header complete, weights missing", v1, sizeof v1, LLMQ_ERR_BOUNDS);
    int32_t bad_kv = 3;
    memcpy(v1 + 8 + 16, &bad_kv, 4);
    run("v1 kv heads do not divide heads", v1, sizeof v1, LLMQ_ERR_SHAPE);
}

/* The real checkpoint cut at several points. */
static void truncation_cases(void) {
    lq_mapfile m;
    llmq_error e = {0};
    if (lq_map_open(SHARED_PATH("models/stories260K/stories260K.bin"), &m, &e) != LLMQ_OK) {
        CHECK_MSG(0, "%s", e.msg);
        return;
    }
    run("stories260K intact (control)", m.data, m.len, LLMQ_OK);
    const size_t cuts[] = {m.len / 2, 28, 29, 1000, m.len - 4 * 512 * 8 + 100, m.len - 1};
    const char *names[] = {"stories260K cut in half",        "stories260K cut after the header",
                           "stories260K cut 1 byte in",      "stories260K cut at 1000 bytes",
                           "stories260K cut inside RoPE tables", "stories260K missing the last byte"};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) run(names[i], m.data, cuts[i], LLMQ_ERR_BOUNDS);
    /* the same file claiming a separate classifier needs vocab x dim more */
    uint8_t *copy = malloc(m.len);
    memcpy(copy, m.data, m.len);
    int32_t neg = -512;
    memcpy(copy + 20, &neg, 4);
    run("stories260K with negative vocab (no classifier)", copy, m.len, LLMQ_ERR_BOUNDS);
    free(copy);
    lq_map_close(&m);
}

int main(void) {
    header_cases();
    truncation_cases();
    TEST_END();
}
