/* llama.cpp imatrix files: what the writer produces reads back as the same
 * values in both formats, and corrupt files fail with a specific status
 * (under ASan+UBSan, without any memory error). */
#include "algo/imatrix_file.h"
#include "io/gguf.h"
#include "quant/types.h"
#include "test.h"

static const double sums_a[3] = {12.5, 0.25, 300.0}, sums_b[2] = {7.0, 1e-3};
static const lq_imatrix_sums entries[2] = {
    {"blk.1.ffn_down.weight", 3, sums_a, 1024}, /* written second: names are sorted */
    {"blk.0.attn_q.weight", 2, sums_b, 1000},
};
static const lq_imatrix_meta meta = {2, 512, "wiki.valid.raw"};

static llmq_status parse(const void *p, size_t n) {
    lq_imatrix *im = NULL;
    llmq_error err = {0};
    llmq_status st = lq_imatrix_parse(p, n, &im, &err);
    if (st == LLMQ_OK) CHECK(im && im->n >= 1);
    else CHECK(im == NULL && err.msg[0]);
    lq_imatrix_free(im);
    return st;
}

#define EXPECT(desc, bytes, n, want)                                                                      \
    do {                                                                                                  \
        llmq_status got_ = parse(bytes, n);                                                               \
        CHECK_MSG(got_ == (want), "%s: got %s, want %s", desc, llmq_status_str(got_), llmq_status_str(want)); \
    } while (0)

static void check_roundtrip(bool gguf) {
    uint8_t *buf;
    size_t len;
    llmq_error err = {0};
    CHECK(lq_imatrix_serialize(gguf, entries, 2, &meta, &buf, &len, &err) == LLMQ_OK);
    lq_imatrix *im = NULL;
    CHECK_MSG(lq_imatrix_parse(buf, len, &im, &err) == LLMQ_OK, "%s", err.msg);
    free(buf);
    if (!im) return;
    CHECK_EQ_INT(im->n, 2);
    CHECK(im->gguf == gguf);
    CHECK(!strcmp(im->entries[0].name, "blk.0.attn_q.weight") && !strcmp(im->entries[1].name, "blk.1.ffn_down.weight"));
    CHECK_EQ_INT(im->chunk_count, 2);
    CHECK_EQ_INT(im->chunk_size, gguf ? 512 : 0);
    CHECK(!strcmp(im->dataset, "wiki.valid.raw"));
    for (int k = 0; k < 2; k++) {
        const lq_imatrix_entry *en = lq_imatrix_find(im, entries[k].name);
        CHECK(en && en->n_values == entries[k].n_values);
        if (!en) continue;
        CHECK_EQ_INT(en->ncall, 2); /* ceil(1024 / 512), ceil(1000 / 512) */
        if (gguf) CHECK_NEAR(en->count, (double)entries[k].count, 0);
        for (int j = 0; j < en->n_values; j++) {
            double want = entries[k].sum_x2[j] / (double)entries[k].count;
            CHECK_MSG(fabs(en->values[j] - want) <= 1e-6 * want, "%s[%d]: %g vs %g", en->name, j, en->values[j], want);
        }
    }
    CHECK(lq_imatrix_find(im, "output.weight") == NULL);
    lq_imatrix_free(im);
}

static void put_i32(uint8_t *p, int32_t v) { memcpy(p, &v, 4); }

static void check_legacy_corruptions(void) {
    uint8_t *ok, b[512];
    size_t n;
    CHECK(lq_imatrix_serialize(false, entries, 2, &meta, &ok, &n, NULL) == LLMQ_OK);
    /* layout: n_entries @0; entry 1 ("blk.0.attn_q.weight", 19 bytes): len @4, name @8, ncall @27, nval @31,
     * values @35; entry 2: len @43, name @47 (21 bytes), ncall @68, nval @72, values @76 (12 bytes);
     * chunk count @88, dataset length @92, dataset @96 (14 bytes) */
    CHECK_EQ_INT(n, 110);
    /* every truncation fails cleanly, except at the optional trailer's two boundaries */
    for (size_t cut = 0; cut < n; cut++) {
        llmq_status st = parse(ok, cut);
        CHECK_MSG((st == LLMQ_OK) == (cut == 88 || cut == 92), "truncated to %zu bytes: %s", cut, llmq_status_str(st));
    }
    EXPECT("truncated header", ok, 2, LLMQ_ERR_BOUNDS);
    EXPECT("cut in the first entry: 2 entries cannot fit", ok, 20, LLMQ_ERR_OVERFLOW);
    EXPECT("truncated in a name", ok, 50, LLMQ_ERR_BOUNDS);
    EXPECT("truncated in the counts", ok, 70, LLMQ_ERR_BOUNDS);
    EXPECT("truncated in the values", ok, 80, LLMQ_ERR_OVERFLOW);
    EXPECT("truncated in the dataset name", ok, 100, LLMQ_ERR_BOUNDS);
    struct { const char *desc; size_t at; int32_t v; llmq_status want; } cases[] = {
        {"no entries", 0, 0, LLMQ_ERR_FORMAT},
        {"negative entry count", 0, -3, LLMQ_ERR_FORMAT},
        {"huge entry count", 0, 1 << 30, LLMQ_ERR_OVERFLOW},
        {"negative name length", 4, -5, LLMQ_ERR_FORMAT},
        {"zero name length", 4, 0, LLMQ_ERR_FORMAT},
        {"huge name length", 4, INT32_MAX, LLMQ_ERR_BOUNDS},
        {"zero ncall", 27, 0, LLMQ_ERR_FORMAT},
        {"negative nval", 31, -1, LLMQ_ERR_FORMAT},
        {"huge nval", 31, 1 << 30, LLMQ_ERR_OVERFLOW},
        {"nval larger than the entry", 72, 4, LLMQ_ERR_BOUNDS}, /* the trailer is misread */
        {"negative dataset length", 92, -1, LLMQ_ERR_FORMAT},
        {"dataset length past the end", 92, 15, LLMQ_ERR_BOUNDS},
        {"dataset length short of the end", 92, 13, LLMQ_ERR_FORMAT},
        {"negative chunk count", 88, -2, LLMQ_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(b, ok, n);
        put_i32(b + cases[i].at, cases[i].v);
        EXPECT(cases[i].desc, b, n, cases[i].want);
    }
    float bad[3] = {NAN, INFINITY, -1.0f};
    for (int i = 0; i < 3; i++) {
        memcpy(b, ok, n);
        memcpy(b + 80, &bad[i], 4);
        EXPECT("non-finite or negative value", b, n, LLMQ_ERR_FORMAT);
    }
    memcpy(b, ok, n);
    b[n] = 0;
    EXPECT("stray byte after the dataset", b, n + 1, LLMQ_ERR_FORMAT);
    memcpy(b, ok, n);
    b[10] = 0;
    EXPECT("NUL in a name", b, n, LLMQ_ERR_FORMAT);
    lq_imatrix_sums dup[2] = {entries[1], entries[1]};
    uint8_t *d;
    size_t dn;
    CHECK(lq_imatrix_serialize(false, dup, 2, &meta, &d, &dn, NULL) == LLMQ_OK);
    EXPECT("repeated name", d, dn, LLMQ_ERR_DUPLICATE);
    free(d);
    free(ok);
}

/* A GGUF file with the given tensors (sums and counts data of F32 values). */
static void gguf_case(const char *desc, const char *type, const char *n1, uint32_t t1, int64_t ne1, const char *n2,
                      int64_t ne2, llmq_status want) {
    lq_gguf_writer *w = lq_gguf_writer_new(0);
    if (type) lq_gguf_add_str(w, "general.type", type);
    uint16_t h[4] = {0x3c00, 0x3c00, 0x3c00, 0x3c00};
    float f[4] = {1, 2, 3, 4};
    int64_t ne[2] = {ne1, 1}, nc[2] = {ne2, 1};
    if (n1) lq_gguf_add_tensor(w, n1, t1, 2, ne, t1 == LQ_TYPE_F16 ? (void *)h : (void *)f, (size_t)ne1 * (t1 == LQ_TYPE_F16 ? 2 : 4));
    if (n2) lq_gguf_add_tensor(w, n2, LQ_TYPE_F32, 2, nc, f, (size_t)ne2 * 4);
    uint8_t *buf;
    size_t len;
    CHECK(lq_gguf_serialize(w, &buf, &len, NULL) == LLMQ_OK);
    EXPECT(desc, buf, len, want);
    free(buf);
    lq_gguf_writer_free(w);
}

static void check_gguf_corruptions(void) {
    uint8_t *ok, *b;
    size_t n;
    CHECK(lq_imatrix_serialize(true, entries, 2, &meta, &ok, &n, NULL) == LLMQ_OK);
    for (size_t cut = 0; cut < n; cut++) CHECK_MSG(parse(ok, cut) != LLMQ_OK, "GGUF truncated to %zu bytes", cut);
    lq_gguf *g = NULL;
    CHECK(lq_gguf_parse(ok, n, &g, NULL) == LLMQ_OK);
    b = malloc(n);
    float bad[3] = {NAN, -INFINITY, -2.0f};
    for (int i = 0; i < 3; i++)
        for (int t = 0; t < 2; t++) { /* a sum, then a count */
            memcpy(b, ok, n);
            memcpy(b + (g->tensors[t].data - ok), &bad[i], 4);
            EXPECT(t ? "bad count" : "bad sum", b, n, LLMQ_ERR_FORMAT);
        }
    lq_gguf_free(g);
    free(b);
    free(ok);
    gguf_case("valid by hand", "imatrix", "w.in_sum2", LQ_TYPE_F32, 4, "w.counts", 1, LLMQ_OK);
    gguf_case("no general.type is accepted", NULL, "w.in_sum2", LQ_TYPE_F32, 4, "w.counts", 1, LLMQ_OK);
    gguf_case("a model, not an imatrix", "model", "w.in_sum2", LQ_TYPE_F32, 4, "w.counts", 1, LLMQ_ERR_FORMAT);
    gguf_case("sums without counts", "imatrix", "w.in_sum2", LQ_TYPE_F32, 4, "v.counts", 1, LLMQ_ERR_MISSING);
    gguf_case("counts without sums", "imatrix", "w.in_sum", LQ_TYPE_F32, 4, "w.counts", 1, LLMQ_ERR_MISSING);
    gguf_case("two counts for one matrix", "imatrix", "w.in_sum2", LQ_TYPE_F32, 4, "w.counts", 2, LLMQ_ERR_SHAPE);
    gguf_case("F16 sums", "imatrix", "w.in_sum2", LQ_TYPE_F16, 4, "w.counts", 1, LLMQ_ERR_TYPE);
    gguf_case("no entries", "imatrix", NULL, 0, 0, NULL, 0, LLMQ_ERR_FORMAT);
}

int main(void) {
    check_roundtrip(false);
    check_roundtrip(true);
    check_legacy_corruptions();
    check_gguf_corruptions();
    /* the writer refuses what it cannot represent */
    lq_imatrix_sums empty = {"x.weight", 2, sums_b, 0};
    uint8_t *buf;
    size_t len;
    CHECK(lq_imatrix_serialize(false, &empty, 1, &meta, &buf, &len, NULL) == LLMQ_ERR_ARG);
    CHECK(lq_imatrix_serialize(true, entries, 0, &meta, &buf, &len, NULL) == LLMQ_ERR_ARG);
    lq_imatrix *im = NULL;
    CHECK(lq_imatrix_load("/nonexistent/imatrix.dat", &im, NULL) == LLMQ_ERR_IO && im == NULL);
    TEST_END();
}
