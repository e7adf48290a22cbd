#define _GNU_SOURCE /* memmem */
/* Tokenizers against reference ids stored in tests/fixtures/tokenizer/
 * (made by scripts/gen_tokenizer_fixtures.py):
 *  - llama2.c tok512.bin vs a port of run.c encode();
 *  - tok512 as a "llama" GGUF vocabulary vs llama.cpp's SentencePiece;
 *  - SmolLM2 GGUF byte-level BPE vs llama.cpp, plus the first 100 KB of
 *    wikitext-2 (token count and id hash: what perplexity depends on);
 *  - a small Hugging Face byte-level BPE tokenizer.json vs `tokenizers`;
 *  - all-MiniLM-L6-v2 WordPiece vs `tokenizers`.
 * Decoding is checked by round trips. Missing model files skip their part. */
#include "test.h"

#include "io/gguf.h"
#include "io/mapfile.h"
#include "model/tokenizer.h"

#include <stdint.h>

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* One fixture line: "<add> <hex text>|<ids>". */
typedef struct fx_case {
    int add;
    char text[4096];
    size_t len;
    int32_t ids[1024];
    size_t n;
} fx_case;

static int hexv(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

static int parse_line(char *line, fx_case *c) {
    char *bar = strchr(line, '|');
    if (!bar || line[1] != ' ') return 0;
    c->add = line[0] == '1';
    c->len = 0;
    for (char *p = line + 2; p + 1 < bar && c->len < sizeof c->text; p += 2) c->text[c->len++] = (char)(hexv(p[0]) * 16 + hexv(p[1]));
    c->n = 0;
    for (char *p = bar + 1; *p && *p != '\n' && c->n < 1024;) {
        c->ids[c->n++] = (int32_t)strtol(p, &p, 10);
        while (*p == ' ') p++;
    }
    return 1;
}

/* Encodes every fixture case and compares; returns the number of cases. */
static int check_fixture(const lq_tokenizer *t, const char *path, int roundtrip_add) {
    size_t len;
    char *buf = read_all(path, &len);
    CHECK_MSG(buf != NULL, "missing fixture %s", path);
    if (!buf) return 0;
    static fx_case c;
    int cases = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (!parse_line(line, &c)) continue;
        cases++;
        int32_t *ids = NULL;
        size_t n = 0;
        llmq_error e = {0};
        llmq_status st = lq_tok_encode(t, c.text, c.len, c.add != 0, &ids, &n, &e);
        bool same = st == LLMQ_OK && n == c.n && (n == 0 || memcmp(ids, c.ids, n * sizeof *ids) == 0);
        CHECK_MSG(same, "%s: \"%.*s\" (add %d): got %zu tokens, want %zu (st %d %s)", path, (int)LQ_MIN(c.len, 60),
                  c.text, c.add, n, c.n, st, e.msg);
        if (!same && st == LLMQ_OK) {
            for (size_t i = 0; i < LQ_MIN(n, 40); i++) fprintf(stderr, " %d", ids[i]);
            fprintf(stderr, "\n");
        }
        if (st == LLMQ_OK && c.add == roundtrip_add && !memmem(c.text, c.len, "<|", 2) && !memmem(c.text, c.len, "<s>", 3)) {
            static char out[16384];
            size_t o = 0;
            size_t first = c.add && n && ids[0] == lq_tok_bos(t) ? 1 : 0; /* BOS is never printed */
            for (size_t i = first; i < n; i++)
                o += lq_tok_piece(t, i ? ids[i - 1] : -1, ids[i], out + o, sizeof out - o);
            CHECK_MSG(o == c.len && memcmp(out, c.text, o) == 0, "round trip of \"%.*s\" gave \"%.*s\"",
                      (int)LQ_MIN(c.len, 60), c.text, (int)LQ_MIN(o, 60), out);
        }
        free(ids);
    }
    free(buf);
    return cases;
}

static void test_llama2c(void) {
    size_t len;
    char *bin = read_all(SHARED_PATH("models/stories260K/tok512.bin"), &len);
    if (!bin) {
        printf("skip llama2.c: tok512.bin not found\n");
        return;
    }
    lq_tokenizer *t = NULL;
    llmq_error e = {0};
    CHECK_EQ_INT(lq_tok_from_llama2c(bin, len, 512, &t, &e), LLMQ_OK);
    free(bin);
    if (!t) return;
    CHECK_EQ_INT(lq_tok_kind_of(t), LQ_TOK_SPM);
    CHECK_EQ_INT(lq_tok_n_vocab(t), 512);
    CHECK_EQ_INT(lq_tok_bos(t), 1);
    CHECK_EQ_INT(lq_tok_eos(t), 2);
    size_t n;
    CHECK(lq_tok_text(t, 1, &n) && n == 5 && memcmp(lq_tok_text(t, 1, &n), "\n<s>\n", 5) == 0);
    CHECK(lq_tok_text(t, 512, &n) == NULL);
    CHECK_NEAR(lq_tok_score(t, 260), -1.0, 0);
    char piece[16];
    CHECK_EQ_INT(lq_tok_piece(t, 5, 13, piece, sizeof piece), 1); /* <0x0A> */
    CHECK_EQ_INT(piece[0], '\n');
    CHECK_EQ_INT(lq_tok_piece(t, 1, 259, piece, sizeof piece), 1); /* " t" after BOS */
    CHECK_EQ_INT(piece[0], 't');
    int cases = check_fixture(t, TEST_PATH("tests/fixtures/tokenizer/llama2c_tok512.txt"), 1);
    CHECK(cases >= 50);
    lq_tok_free(t);
}

static uint64_t fnv1a_ids(const int32_t *ids, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++) {
            h ^= ((uint32_t)ids[i] >> (8 * k)) & 0xFF;
            h *= 0x100000001b3ull;
        }
    return h;
}

static void test_wikitext(const lq_tokenizer *t) {
    size_t flen, wlen;
    char *fx = read_all(TEST_PATH("tests/fixtures/tokenizer/smollm2_wikitext.txt"), &flen);
    char *wiki = read_all(SHARED_PATH("data/wikitext-2/test.txt"), &wlen);
    unsigned long long bytes = 0, count = 0, hash = 0;
    if (!fx || !wiki || sscanf(fx, "%llu %llu %llx", &bytes, &count, &hash) != 3 || bytes > wlen) {
        printf("skip wikitext: fixture or data missing\n");
    } else {
        int32_t *ids = NULL;
        size_t n = 0;
        double t0 = lq_now();
        CHECK_EQ_INT(lq_tok_encode(t, wiki, (size_t)bytes, false, &ids, &n, NULL), LLMQ_OK);
        printf("wikitext: %llu bytes -> %zu tokens in %.3f s (llama.cpp: %llu)\n", bytes, n, lq_now() - t0, count);
        CHECK_EQ_INT(n, count);
        CHECK_MSG(fnv1a_ids(ids, n) == hash, "id hash %016llx != %016llx", (unsigned long long)fnv1a_ids(ids, n), hash);
        free(ids);
    }
    free(fx);
    free(wiki);
}

static void test_smollm_gguf(void) {
    lq_mapfile mf;
    if (lq_map_open(TEST_PATH("models/SmolLM2-135M-Instruct-Q4_1.gguf"), &mf, NULL) != LLMQ_OK) {
        printf("skip SmolLM2: model not found\n");
        return;
    }
    lq_gguf *g = NULL;
    lq_tokenizer *t = NULL;
    llmq_error e = {0};
    CHECK_EQ_INT(lq_gguf_parse(mf.data, mf.len, &g, &e), LLMQ_OK);
    if (g) CHECK_MSG(lq_tok_from_gguf(g, &t, &e) == LLMQ_OK, "%s", e.msg);
    if (t) {
        CHECK_EQ_INT(lq_tok_kind_of(t), LQ_TOK_BPE);
        CHECK_EQ_INT(lq_tok_n_vocab(t), 49152);
        CHECK_EQ_INT(lq_tok_bos(t), 1);
        CHECK_EQ_INT(lq_tok_eos(t), 2);
        char piece[32];
        CHECK_EQ_INT(lq_tok_piece(t, -1, 2, piece, sizeof piece), 0); /* <|im_end|> is a control token */
        size_t k = lq_tok_piece(t, -1, 905, piece, sizeof piece);      /* "Ġworld" */
        CHECK(k == 6 && memcmp(piece, " world", 6) == 0);
        int cases = check_fixture(t, TEST_PATH("tests/fixtures/tokenizer/smollm2_gguf.txt"), 0);
        CHECK(cases >= 60);
        test_wikitext(t);
    }
    lq_tok_free(t);
    lq_gguf_free(g);
    lq_map_close(&mf);
}

/* tok512 as a "llama" GGUF vocabulary: the llama.cpp SentencePiece path. */
static void test_spm_gguf(void) {
    lq_mapfile mf;
    if (lq_map_open(TEST_PATH("tests/fixtures/tokenizer/tok512_spm.gguf.fixture"), &mf, NULL) != LLMQ_OK) {
        CHECK_MSG(0, "missing fixture tok512_spm.gguf.fixture");
        return;
    }
    lq_gguf *g = NULL;
    lq_tokenizer *t = NULL;
    llmq_error e = {0};
    CHECK_EQ_INT(lq_gguf_parse(mf.data, mf.len, &g, &e), LLMQ_OK);
    if (g) CHECK_MSG(lq_tok_from_gguf(g, &t, &e) == LLMQ_OK, "%s", e.msg);
    if (t) {
        CHECK_EQ_INT(lq_tok_kind_of(t), LQ_TOK_SPM);
        CHECK_EQ_INT(lq_tok_bos(t), 1);
        char piece[16];
        CHECK_EQ_INT(lq_tok_piece(t, 1, 259, piece, sizeof piece), 1); /* "\u2581t" after BOS */
        CHECK_EQ_INT(piece[0], 't');
        CHECK_EQ_INT(lq_tok_piece(t, 7, 259, piece, sizeof piece), 2);
        CHECK(memcmp(piece, " t", 2) == 0);
        CHECK_EQ_INT(lq_tok_piece(t, 7, 13, piece, sizeof piece), 1); /* <0x0A> */
        CHECK_EQ_INT(piece[0], '\n');
        int cases = check_fixture(t, TEST_PATH("tests/fixtures/tokenizer/tok512_spm_gguf.txt"), 1);
        CHECK(cases >= 50);
    }
    lq_tok_free(t);
    lq_gguf_free(g);
    lq_map_close(&mf);
}

static void test_hf_json(const char *json_path, const char *fixture, lq_tok_kind kind, int min_cases, int rt_add) {
    size_t len;
    char *json = read_all(json_path, &len);
    if (!json) {
        printf("skip %s: not found\n", json_path);
        return;
    }
    lq_tokenizer *t = NULL;
    llmq_error e = {0};
    CHECK_MSG(lq_tok_from_hf_json(json, len, &t, &e) == LLMQ_OK, "%s: %s", json_path, e.msg);
    free(json);
    if (!t) return;
    CHECK_EQ_INT(lq_tok_kind_of(t), kind);
    int cases = check_fixture(t, fixture, rt_add);
    CHECK(cases >= min_cases);
    if (kind == LQ_TOK_WPM) {
        CHECK_EQ_INT(lq_tok_n_vocab(t), 30522);
        CHECK_EQ_INT(lq_tok_bos(t), 101); /* [CLS] */
        CHECK_EQ_INT(lq_tok_eos(t), 102); /* [SEP] */
        int32_t ids[4] = {101, 7592, 2088, 2075}; /* [CLS] hello world ##ing */
        char out[64];
        size_t o = 0;
        for (int i = 0; i < 4; i++) o += lq_tok_piece(t, i ? ids[i - 1] : -1, ids[i], out + o, sizeof out - o);
        CHECK(o == 14 && memcmp(out, "hello worlding", 14) == 0);
    }
    lq_tok_free(t);
}

int main(void) {
    test_llama2c();
    test_smollm_gguf();
    test_spm_gguf();
    test_hf_json(TEST_PATH("tests/fixtures/tokenizer/tiny_bpe_tokenizer.json"),
                 TEST_PATH("tests/fixtures/tokenizer/tiny_bpe.txt"), LQ_TOK_BPE, 40, 0);
    test_hf_json(TEST_PATH("models/all-MiniLM-L6-v2/tokenizer.json"),
                 TEST_PATH("tests/fixtures/tokenizer/minilm_wordpiece.txt"), LQ_TOK_WPM, 100, -1);
    TEST_END();
}
