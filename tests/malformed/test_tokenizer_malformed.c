/* Corrupted tokenizer inputs, each with the status it must return:
 * llama2.c tokenizer.bin, Hugging Face tokenizer.json, and GGUF tokenizer
 * metadata (built in memory with the GGUF writer). A few valid controls
 * check that the same builders succeed when nothing is wrong. */
#include "test.h"

#include "io/gguf.h"
#include "model/tokenizer.h"

#include <stdint.h>

/* ------------------------------------------------------------ llama2.c */

/* A 4-token tokenizer.bin: max_len, then (score, len, text) per token;
 * bad_len replaces token 3's length when not 0. */
static size_t make_l2c(uint8_t *buf, int32_t max_len, int32_t bad_len) {
    static const char *toks[4] = {"<unk>", "<s>", "</s>", "ab"};
    size_t o = 0;
    memcpy(buf + o, &max_len, 4), o += 4;
    for (int i = 0; i < 4; i++) {
        float score = (float)-i;
        int32_t n = (int32_t)strlen(toks[i]);
        int32_t wn = i == 3 && bad_len ? bad_len : n;
        memcpy(buf + o, &score, 4), o += 4;
        memcpy(buf + o, &wn, 4), o += 4;
        memcpy(buf + o, toks[i], (size_t)n), o += (size_t)n;
    }
    return o;
}

static llmq_status l2c_status(const uint8_t *buf, size_t len, int vocab) {
    lq_tokenizer *t = NULL;
    llmq_error e = {0};
    llmq_status st = lq_tok_from_llama2c(buf, len, vocab, &t, &e);
    CHECK(st == LLMQ_OK ? t != NULL : t == NULL);
    if (st != LLMQ_OK) CHECK_MSG(e.msg[0] != '\0', "status %d without a message", st);
    lq_tok_free(t);
    return st;
}

static void test_llama2c(void) {
    uint8_t buf[256];
    size_t n = make_l2c(buf, 8, 0);
    CHECK_EQ_INT(l2c_status(buf, n, 4), LLMQ_OK);                 /* control */
    CHECK_EQ_INT(l2c_status(buf, 2, 4), LLMQ_ERR_BOUNDS);          /* header cut */
    CHECK_EQ_INT(l2c_status(buf, n - 1, 4), LLMQ_ERR_BOUNDS);      /* last text cut */
    CHECK_EQ_INT(l2c_status(buf, 30, 4), LLMQ_ERR_BOUNDS);         /* cut inside a token */
    CHECK_EQ_INT(l2c_status(buf, n, 5), LLMQ_ERR_BOUNDS);          /* fewer tokens than vocab_size */
    CHECK_EQ_INT(l2c_status(buf, n, 2), LLMQ_ERR_FORMAT);          /* no room for BOS 1 / EOS 2 */
    CHECK_EQ_INT(l2c_status(NULL, 0, 4), LLMQ_ERR_BOUNDS);         /* empty */
    n = make_l2c(buf, 0, 0);
    CHECK_EQ_INT(l2c_status(buf, n, 4), LLMQ_ERR_FORMAT);          /* max_token_length 0 */
    n = make_l2c(buf, -5, 0);
    CHECK_EQ_INT(l2c_status(buf, n, 4), LLMQ_ERR_FORMAT);          /* negative max_token_length */
    n = make_l2c(buf, 8, -3);
    CHECK_EQ_INT(l2c_status(buf, n, 4), LLMQ_ERR_FORMAT);          /* negative token length */
    n = make_l2c(buf, 8, INT32_MAX);
    CHECK_EQ_INT(l2c_status(buf, n, 4), LLMQ_ERR_FORMAT);          /* huge token length */
    n = make_l2c(buf, 1 << 20, 1 << 19);
    CHECK_EQ_INT(l2c_status(buf, n, 4), LLMQ_ERR_BOUNDS);          /* length within max, past the end */
}

/* ------------------------------------------------------------ tokenizer.json */

static llmq_status json_status(const char *json) {
    lq_tokenizer *t = NULL;
    llmq_error e = {0};
    llmq_status st = lq_tok_from_hf_json(json, strlen(json), &t, &e);
    CHECK(st == LLMQ_OK ? t != NULL : t == NULL);
    if (st != LLMQ_OK) CHECK_MSG(e.msg[0] != '\0', "status %d without a message", st);
    lq_tok_free(t);
    return st;
}

#define BPE_HEAD "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2,\"\\u0120\":3,\"\\u0120ab\":4},"
#define BPE_PRE "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true}"
#define WPM_HEAD "{\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},\"model\":{\"type\":\"WordPiece\","

static void test_json(void) {
    /* controls: "a b" string merges and [a, b] pair merges both load */
    const char *ok_str = BPE_HEAD "\"merges\":[\"a b\",\"\\u0120 ab\"]}," BPE_PRE "}";
    CHECK_EQ_INT(json_status(ok_str), LLMQ_OK);
    CHECK_EQ_INT(json_status(BPE_HEAD "\"merges\":[[\"a\",\"b\"],[\"\\u0120\",\"ab\"]]}," BPE_PRE "}"), LLMQ_OK);
    lq_tokenizer *t = NULL;
    if (lq_tok_from_hf_json(ok_str, strlen(ok_str), &t, NULL) == LLMQ_OK) {
        int32_t *ids = NULL;
        size_t n = 0;
        CHECK_EQ_INT(lq_tok_encode(t, "ab ab", 5, true, &ids, &n, NULL), LLMQ_OK);
        CHECK(n == 2 && ids[0] == 2 && ids[1] == 4); /* "ab", "Ġab" */
        free(ids);
        lq_tok_free(t);
    }
    CHECK_EQ_INT(json_status(WPM_HEAD "\"unk_token\":\"[UNK]\",\"vocab\":{\"[UNK]\":0,\"a\":1}}}"), LLMQ_OK);

    CHECK_EQ_INT(json_status(""), LLMQ_ERR_JSON);
    CHECK_EQ_INT(json_status("{\"model\":"), LLMQ_ERR_JSON);                 /* truncated */
    CHECK_EQ_INT(json_status("[1,2]"), LLMQ_ERR_JSON);                       /* not an object */
    CHECK_EQ_INT(json_status("{}"), LLMQ_ERR_JSON);                          /* no model */
    CHECK_EQ_INT(json_status("{\"model\":{\"vocab\":{}}}"), LLMQ_ERR_JSON);   /* no type */
    CHECK_EQ_INT(json_status("{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}"), LLMQ_ERR_UNSUPPORTED);
    CHECK_EQ_INT(json_status("{\"model\":{\"type\":\"BPE\",\"merges\":[]}}"), LLMQ_ERR_JSON); /* no vocab */
    CHECK_EQ_INT(json_status("{\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}"), LLMQ_ERR_JSON); /* empty */
    CHECK_EQ_INT(json_status(BPE_HEAD "\"merges\":[\"ab\"]}}"), LLMQ_ERR_JSON);       /* merge without space */
    CHECK_EQ_INT(json_status(BPE_HEAD "\"merges\":[7]}}"), LLMQ_ERR_JSON);            /* merge not a string */
    CHECK_EQ_INT(json_status(BPE_HEAD "\"merges\":[[\"a\"]]}}"), LLMQ_ERR_JSON);      /* one-element pair */
    CHECK_EQ_INT(json_status(BPE_HEAD "\"merges\":{}}}"), LLMQ_ERR_JSON);            /* merges not an array */
    CHECK_EQ_INT(json_status("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"x\"},\"merges\":[]}}"), LLMQ_ERR_JSON);
    CHECK_EQ_INT(json_status("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}"), LLMQ_ERR_JSON);
    CHECK_EQ_INT(json_status("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":1e12},\"merges\":[]}}"), LLMQ_ERR_JSON);
    CHECK_EQ_INT(json_status("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0},\"merges\":[]}}"), LLMQ_ERR_JSON);
    CHECK_EQ_INT(json_status("{\"added_tokens\":[{\"id\":3}],\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},"
                             "\"merges\":[]}}"), LLMQ_ERR_JSON);                 /* added token without content */
    CHECK_EQ_INT(json_status(BPE_HEAD "\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Split\",\"behavior\":\"Isolated\","
                             "\"pattern\":{\"Regex\":\"(unclosed\"}}}"), LLMQ_ERR_UNSUPPORTED); /* bad regex */
    CHECK_EQ_INT(json_status(BPE_HEAD "\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Metaspace\"}}"), LLMQ_ERR_UNSUPPORTED);
    CHECK_EQ_INT(json_status(WPM_HEAD "\"unk_token\":\"[UNK]\",\"vocab\":{\"a\":0}}}"), LLMQ_ERR_FORMAT); /* unk missing */
    CHECK_EQ_INT(json_status(WPM_HEAD "\"vocab\":{\"[UNK]\":0}}}"), LLMQ_ERR_JSON); /* no unk_token */
    CHECK_EQ_INT(json_status(WPM_HEAD "\"unk_token\":\"[UNK]\",\"max_input_chars_per_word\":-4,"
                             "\"vocab\":{\"[UNK]\":0}}}"), LLMQ_ERR_JSON);
}

/* ------------------------------------------------------------ GGUF */

typedef struct gopt {
    const char *model;     /* NULL: no tokenizer.ggml.model */
    int n_tok;             /* 0: no tokens key; -1: tokens as an int array */
    int n_scores, n_types; /* 0: absent */
    int64_t bos, eos;      /* -1: absent */
    const char *merge;     /* gpt2: one merge string; NULL: no merges key */
} gopt;

static const char *const g_toks[6] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81" "a", "a", "b"};

static llmq_status gguf_status(gopt o) {
    lq_gguf_writer *w = lq_gguf_writer_new(0);
    float scores[8] = {0, 0, 0, -1, -2, -3, -4, -5};
    int32_t types[8] = {2, 3, 3, 1, 1, 1, 1, 1};
    size_t lens[6];
    for (int i = 0; i < 6; i++) lens[i] = strlen(g_toks[i]);
    llmq_status st = w ? LLMQ_OK : LLMQ_ERR_NOMEM;
    if (st == LLMQ_OK) st = lq_gguf_add_str(w, "general.architecture", "llama");
    if (st == LLMQ_OK && o.model) st = lq_gguf_add_str(w, "tokenizer.ggml.model", o.model);
    if (st == LLMQ_OK && o.n_tok > 0) st = lq_gguf_add_arr_str(w, "tokenizer.ggml.tokens", g_toks, lens, (uint64_t)o.n_tok);
    if (st == LLMQ_OK && o.n_tok < 0) st = lq_gguf_add_arr(w, "tokenizer.ggml.tokens", LQ_GGUF_INT32, types, 6);
    if (st == LLMQ_OK && o.n_scores) st = lq_gguf_add_arr(w, "tokenizer.ggml.scores", LQ_GGUF_FLOAT32, scores, (uint64_t)o.n_scores);
    if (st == LLMQ_OK && o.n_types) st = lq_gguf_add_arr(w, "tokenizer.ggml.token_type", LQ_GGUF_INT32, types, (uint64_t)o.n_types);
    if (st == LLMQ_OK && o.bos >= 0) st = lq_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)o.bos);
    if (st == LLMQ_OK && o.eos >= 0) st = lq_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)o.eos);
    if (st == LLMQ_OK && o.merge) st = lq_gguf_add_arr_str(w, "tokenizer.ggml.merges", &o.merge, (size_t[]){strlen(o.merge)}, 1);
    uint8_t *buf = NULL;
    size_t len = 0;
    lq_gguf *g = NULL;
    if (st == LLMQ_OK) st = lq_gguf_serialize(w, &buf, &len, NULL);
    if (st == LLMQ_OK) st = lq_gguf_parse(buf, len, &g, NULL);
    CHECK_EQ_INT(st, LLMQ_OK); /* the file itself is well formed */
    lq_tokenizer *t = NULL;
    llmq_error e = {0};
    if (st == LLMQ_OK) {
        st = lq_tok_from_gguf(g, &t, &e);
        CHECK(st == LLMQ_OK ? t != NULL : t == NULL);
        if (st != LLMQ_OK) CHECK_MSG(e.msg[0] != '\0', "status %d without a message", st);
    }
    if (t && lq_tok_kind_of(t) == LQ_TOK_SPM) { /* control: " a" -> "▁a", "ab" -> ▁a b */
        int32_t *ids = NULL;
        size_t n = 0;
        CHECK_EQ_INT(lq_tok_encode(t, "ab", 2, true, &ids, &n, NULL), LLMQ_OK);
        CHECK(n == 3 && ids[0] == 1 && ids[1] == 3 && ids[2] == 5);
        free(ids);
    }
    lq_tok_free(t);
    lq_gguf_free(g);
    free(buf);
    lq_gguf_writer_free(w);
    return st;
}

static void test_gguf(void) {
    gopt ok = {"llama", 6, 6, 6, 1, 2, NULL};
    CHECK_EQ_INT(gguf_status(ok), LLMQ_OK); /* control */
    gopt o = ok;
    o.n_scores = 5;
    CHECK_EQ_INT(gguf_status(o), LLMQ_ERR_SHAPE); /* scores shorter than tokens */
    o = ok, o.n_types = 4;
    CHECK_EQ_INT(gguf_status(o), LLMQ_ERR_SHAPE); /* token_type shorter */
    o = ok, o.model = "rwkv";
    CHECK_EQ_INT(gguf_status(o), LLMQ_ERR_UNSUPPORTED);
    o = ok, o.model = NULL;
    CHECK_EQ_INT(gguf_status(o), LLMQ_ERR_MISSING);
    o = ok, o.n_tok = 0, o.n_scores = 0, o.n_types = 0;
    CHECK_EQ_INT(gguf_status(o), LLMQ_ERR_MISSING);
    o = ok, o.n_tok = -1;
    CHECK_EQ_INT(gguf_status(o), LLMQ_ERR_FORMAT); /* tokens not strings */
    o = ok, o.bos = 6;
    CHECK_EQ_INT(gguf_status(o), LLMQ_ERR_FORMAT); /* bos past the vocab */
    o = ok, o.eos = 1000000;
    CHECK_EQ_INT(gguf_status(o), LLMQ_ERR_FORMAT);
    gopt bpe = {"gpt2", 6, 0, 6, 1, 2, "a b"};
    CHECK_EQ_INT(gguf_status(bpe), LLMQ_OK); /* control */
    o = bpe, o.merge = NULL;
    CHECK_EQ_INT(gguf_status(o), LLMQ_ERR_MISSING);
    o = bpe, o.merge = "ab";
    CHECK_EQ_INT(gguf_status(o), LLMQ_ERR_FORMAT); /* merge without a space */
    o = bpe, o.merge = " ab";
    CHECK_EQ_INT(gguf_status(o), LLMQ_ERR_FORMAT); /* only a leading space */
}

int main(void) {
    test_llama2c();
    test_json();
    test_gguf();
    TEST_END();
}
