/* Tokenizer core shared by the three kinds: the string hash map, id vector,
 * bigram queue, vocabulary storage, literal matching of special tokens, the
 * public encode / piece / accessor functions, and the three loaders (GGUF,
 * llama2.c tokenizer.bin, Hugging Face tokenizer.json), which only fill
 * plain arrays and hand kind-specific options to tok_{spm,bpe,wordpiece}.c. */
#define _GNU_SOURCE /* memmem, qsort_r */
#include "model/tok_internal.h"

#include "io/cursor.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ hash map */

static uint32_t fnv1a(uint32_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

llmq_status lq_tmap_init(lq_tmap *m, size_t expected, bool pairs, lq_err *e) {
    size_t cap = 16;
    while (cap < expected * 2) cap *= 2;
    m->slots = lq_calloc_array(cap, sizeof *m->slots);
    LQ_CHECK(m->slots, e, LLMQ_ERR_NOMEM, "out of memory for a %zu-entry token map", expected);
    m->cap = cap;
    m->n = 0;
    m->max_n = expected;
    m->pairs = pairs;
    return LLMQ_OK;
}

void lq_tmap_free(lq_tmap *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* Same key: for plain strings only a||b counts, for pairs also the split. */
static bool ent_eq(const lq_tmap *m, const lq_tmap_ent *s, uint32_t h, const char *a, size_t la, const char *b,
                   size_t lb) {
    if (s->hash != h || (size_t)s->la + s->lb != la + lb || (m->pairs && s->la != la)) return false;
    return memcmp(s->key, a, la) == 0 && (lb == 0 || memcmp(s->key + la, b, lb) == 0);
}

bool lq_tmap_put(lq_tmap *m, const char *key, size_t la, size_t lb, int32_t val, bool overwrite) {
    uint32_t h = fnv1a(2166136261u, key, la + lb);
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        lq_tmap_ent *s = &m->slots[i];
        if (!s->key) {
            if (m->n >= m->max_n) return false;
            *s = (lq_tmap_ent){key, (uint32_t)la, (uint32_t)lb, h, val};
            m->n++;
            return true;
        }
        if (ent_eq(m, s, h, key, la, key + la, lb)) {
            if (overwrite) s->val = val;
            return true;
        }
    }
}

int32_t lq_tmap_get(const lq_tmap *m, const char *a, size_t la, const char *b, size_t lb) {
    if (!m->slots) return -1;
    uint32_t h = fnv1a(fnv1a(2166136261u, a, la), b, lb);
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const lq_tmap_ent *s = &m->slots[i];
        if (!s->key) return -1;
        if (ent_eq(m, s, h, a, la, b, lb)) return s->val;
    }
}

/* ------------------------------------------------------------ id vector, bigram heap */

llmq_status lq_ids_push(lq_ids *x, int32_t id, lq_err *e) {
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        int32_t *v = x->cap < SIZE_MAX / 8 ? realloc(x->v, cap * sizeof *v) : NULL;
        LQ_CHECK(v, e, LLMQ_ERR_NOMEM, "out of memory for %zu token ids", cap);
        x->v = v;
        x->cap = cap;
    }
    x->v[x->n++] = id;
    return LLMQ_OK;
}

static bool bigram_before(const lq_bigram *a, const lq_bigram *b) {
    return a->key > b->key || (a->key == b->key && a->left < b->left);
}

llmq_status lq_bheap_push(lq_bheap *h, lq_bigram b, lq_err *e) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        lq_bigram *v = h->cap < SIZE_MAX / 64 ? realloc(h->v, cap * sizeof *v) : NULL;
        LQ_CHECK(v, e, LLMQ_ERR_NOMEM, "out of memory for the merge queue");
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && bigram_before(&b, &h->v[(i - 1) / 2])) { /* sift up */
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = b;
    return LLMQ_OK;
}

bool lq_bheap_pop(lq_bheap *h, lq_bigram *out) {
    if (h->n == 0) return false;
    *out = h->v[0];
    lq_bigram last = h->v[--h->n];
    size_t i = 0;
    for (;;) { /* sift down */
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && bigram_before(&h->v[c + 1], &h->v[c])) c++;
        if (!bigram_before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return true;
}

/* ------------------------------------------------------------ vocabulary */

llmq_status lq_tok_alloc(lq_tok_kind kind, lq_tok_src src, int64_t n_vocab, lq_tokenizer **out, lq_err *e) {
    *out = NULL;
    LQ_CHECK(n_vocab > 0 && n_vocab <= LQ_TOK_MAX_VOCAB, e, LLMQ_ERR_FORMAT,
             "tokenizer vocabulary size %lld is out of range (1..%d)", (long long)n_vocab, LQ_TOK_MAX_VOCAB);
    lq_tokenizer *t = calloc(1, sizeof *t);
    LQ_CHECK(t, e, LLMQ_ERR_NOMEM, "out of memory for a tokenizer");
    t->kind = kind;
    t->src = src;
    t->n_vocab = (int32_t)n_vocab;
    t->bos = t->eos = t->unk = -1;
    t->max_word_chars = 100;
    t->off = lq_calloc_array((size_t)n_vocab, sizeof *t->off);
    t->len = lq_calloc_array((size_t)n_vocab, sizeof *t->len);
    t->score = lq_calloc_array((size_t)n_vocab, sizeof *t->score);
    t->type = lq_calloc_array((size_t)n_vocab, sizeof *t->type);
    if (!t->off || !t->len || !t->score || !t->type) {
        lq_tok_free(t);
        return lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for a %lld-token vocabulary", (long long)n_vocab);
    }
    memset(t->type, LQ_TT_NORMAL, (size_t)n_vocab);
    *out = t;
    return LLMQ_OK;
}

llmq_status lq_tok_set_texts(lq_tokenizer *t, const char *const *strs, const size_t *lens, bool overwrite,
                             lq_err *e) {
    size_t total = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        size_t n = strs[i] ? lens[i] : 0;
        LQ_CHECK(n < UINT32_MAX && lq_add_ok(total, n + 1, &total), e, LLMQ_ERR_OVERFLOW,
                 "token %d text is too long", (int)i);
    }
    t->arena = malloc(total ? total : 1);
    LQ_CHECK(t->arena, e, LLMQ_ERR_NOMEM, "out of memory for %zu bytes of token text", total);
    LQ_TRY(lq_tmap_init(&t->vocab, (size_t)t->n_vocab, false, e));
    size_t o = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        size_t n = strs[i] ? lens[i] : 0;
        if (n) memcpy(t->arena + o, strs[i], n);
        t->arena[o + n] = '\0';
        t->off[i] = o;
        t->len[i] = (uint32_t)n;
        if (n) lq_tmap_put(&t->vocab, t->arena + o, n, 0, i, overwrite);
        o += n + 1;
    }
    return LLMQ_OK;
}

static int cmp_special(const void *a, const void *b, void *ctx) {
    const lq_tokenizer *t = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (t->len[x] != t->len[y]) return t->len[x] > t->len[y] ? -1 : 1;
    return (x > y) - (x < y);
}

llmq_status lq_tok_collect_special(lq_tokenizer *t, lq_err *e) {
    size_t n = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        uint8_t ty = t->type[i];
        n += t->len[i] && (ty == LQ_TT_CONTROL || ty == LQ_TT_USER || ty == LQ_TT_UNKNOWN);
    }
    free(t->special);
    t->special = lq_malloc_array(n ? n : 1, sizeof *t->special);
    LQ_CHECK(t->special, e, LLMQ_ERR_NOMEM, "out of memory for special tokens");
    t->n_special = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        uint8_t ty = t->type[i];
        if (t->len[i] && (ty == LQ_TT_CONTROL || ty == LQ_TT_USER || ty == LQ_TT_UNKNOWN))
            t->special[t->n_special++] = i;
    }
    /* llama.cpp matches longer special tokens first. */
    qsort_r(t->special, t->n_special, sizeof *t->special, cmp_special, t);
    return LLMQ_OK;
}

void lq_tok_free(lq_tokenizer *t) {
    if (!t) return;
    free(t->arena);
    free(t->off);
    free(t->len);
    free(t->score);
    free(t->type);
    free(t->special);
    free(t->merge_arena);
    lq_tmap_free(&t->vocab);
    lq_tmap_free(&t->merges);
    for (int i = 0; i < t->n_re; i++) pcre2_code_free(t->re[i]);
    pcre2_code_free(t->re_class);
    free(t);
}

/* ------------------------------------------------------------ encoding */

/* A run of the input: raw text to tokenize, or one special token. */
typedef struct frag {
    size_t off, len;
    int32_t id; /* -1: raw text */
} frag;

typedef struct frags {
    frag *v;
    size_t n, cap;
} frags;

static llmq_status frags_push(frags *f, frag x, lq_err *e) {
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        frag *v = f->cap < SIZE_MAX / 64 ? realloc(f->v, cap * sizeof *v) : NULL;
        LQ_CHECK(v, e, LLMQ_ERR_NOMEM, "out of memory splitting special tokens");
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = x;
    return LLMQ_OK;
}

/* Splits the raw fragments of *f around every occurrence of special token
 * id, left to right (llama.cpp's tokenizer_st_partition). */
static llmq_status split_on(const lq_tokenizer *t, const char *text, int32_t id, frags *f, lq_err *e) {
    const char *s = lq_tok_str(t, id);
    size_t sl = t->len[id];
    frags g = {0};
    llmq_status st = LLMQ_OK;
    for (size_t i = 0; i < f->n && st == LLMQ_OK; i++) {
        frag x = f->v[i];
        if (x.id >= 0 || x.len < sl) { st = frags_push(&g, x, e); continue; }
        size_t pos = x.off, end = x.off + x.len;
        for (;;) {
            const char *hit = memmem(text + pos, end - pos, s, sl);
            if (!hit) break;
            size_t h = (size_t)(hit - text);
            if (h > pos) st = frags_push(&g, (frag){pos, h - pos, -1}, e);
            if (st == LLMQ_OK) st = frags_push(&g, (frag){h, sl, id}, e);
            if (st != LLMQ_OK) break;
            pos = h + sl;
        }
        if (st == LLMQ_OK && pos < end) st = frags_push(&g, (frag){pos, end - pos, -1}, e);
    }
    free(f->v);
    *f = g;
    return st;
}

static llmq_status encode_frag(const lq_tokenizer *t, const char *s, size_t n, bool after_special, lq_ids *out,
                               lq_err *e) {
    switch (t->kind) {
    case LQ_TOK_SPM: return lq_spm_encode(t, s, n, t->add_space_prefix && after_special, out, e);
    case LQ_TOK_BPE: return lq_bpe_encode(t, s, n, out, e);
    case LQ_TOK_WPM: return lq_wpm_encode(t, s, n, out, e);
    }
    return lq_fail(e, LLMQ_ERR_ARG, "unknown tokenizer kind");
}

/* Special tokens first (matched as whole tokens, as llama.cpp does with
 * parse_special on), then each raw run through the kind's algorithm. */
static llmq_status encode_body(const lq_tokenizer *t, const char *text, size_t len, lq_ids *out, lq_err *e) {
    frags f = {0};
    llmq_status st = frags_push(&f, (frag){0, len, -1}, e);
    for (size_t k = 0; k < t->n_special && st == LLMQ_OK; k++) st = split_on(t, text, t->special[k], &f, e);
    bool after_special = true;
    for (size_t i = 0; i < f.n && st == LLMQ_OK; i++) {
        if (f.v[i].id >= 0) {
            st = lq_ids_push(out, f.v[i].id, e);
            after_special = true;
        } else {
            st = encode_frag(t, text + f.v[i].off, f.v[i].len, after_special, out, e);
            after_special = false;
        }
    }
    free(f.v);
    return st;
}

llmq_status lq_tok_encode(const lq_tokenizer *t, const char *text, size_t len, bool add_special, int32_t **out,
                          size_t *n, lq_err *e) {
    *out = NULL;
    *n = 0;
    LQ_CHECK(t && (text || len == 0), e, LLMQ_ERR_ARG, "tokenize: NULL tokenizer or text");
    lq_ids ids = {0};
    llmq_status st = LLMQ_OK;
    for (int i = 0; add_special && i < t->n_prefix && st == LLMQ_OK; i++) st = lq_ids_push(&ids, t->prefix[i], e);
    if (st == LLMQ_OK && len > 0) {
        if (t->src == LQ_SRC_LLAMA2C) st = lq_spm_encode_llama2c(t, text, len, &ids, e);
        else st = encode_body(t, text, len, &ids, e);
    }
    for (int i = 0; add_special && i < t->n_suffix && st == LLMQ_OK; i++) st = lq_ids_push(&ids, t->suffix[i], e);
    if (st != LLMQ_OK) {
        free(ids.v);
        return st;
    }
    if (!ids.v) ids.v = malloc(sizeof(int32_t)); /* a valid pointer even for zero tokens */
    LQ_CHECK(ids.v, e, LLMQ_ERR_NOMEM, "out of memory for token ids");
    *out = ids.v;
    *n = ids.n;
    return LLMQ_OK;
}

size_t lq_tok_piece(const lq_tokenizer *t, int32_t prev, int32_t tok, char *buf, size_t cap) {
    if (!t || tok < 0 || tok >= t->n_vocab) return 0;
    switch (t->kind) {
    case LQ_TOK_SPM: return lq_spm_piece(t, prev, tok, buf, cap);
    case LQ_TOK_BPE: return lq_bpe_piece(t, tok, buf, cap);
    case LQ_TOK_WPM: return lq_wpm_piece(t, prev, tok, buf, cap);
    }
    return 0;
}

/* ------------------------------------------------------------ accessors */

lq_tok_kind lq_tok_kind_of(const lq_tokenizer *t) { return t ? t->kind : LQ_TOK_SPM; }
int lq_tok_n_vocab(const lq_tokenizer *t) { return t ? t->n_vocab : 0; }
int32_t lq_tok_bos(const lq_tokenizer *t) { return t ? t->bos : -1; }
int32_t lq_tok_eos(const lq_tokenizer *t) { return t ? t->eos : -1; }

const char *lq_tok_text(const lq_tokenizer *t, int32_t id, size_t *len) {
    if (!t || id < 0 || id >= t->n_vocab) return NULL;
    if (len) *len = t->len[id];
    return lq_tok_str(t, id);
}

float lq_tok_score(const lq_tokenizer *t, int32_t id) {
    return (t && id >= 0 && id < t->n_vocab) ? t->score[id] : 0.0f;
}

/* ------------------------------------------------------------ llama2.c tokenizer.bin */

/* Layout: i32 max_token_length, then per token: f32 score, i32 len, len bytes. */
static llmq_status l2c_read(lq_cursor *c, int vocab_size, const char **strs, size_t *lens, float *scores,
                            lq_err *e) {
    int32_t max_len;
    LQ_CHECK(lq_cur_i32(c, &max_len), e, LLMQ_ERR_BOUNDS, "tokenizer.bin: too short for its header");
    LQ_CHECK(max_len > 0 && max_len <= 1 << 20, e, LLMQ_ERR_FORMAT,
             "tokenizer.bin: max_token_length %d is out of range", (int)max_len);
    for (int i = 0; i < vocab_size; i++) {
        int32_t n;
        LQ_CHECK(lq_cur_f32(c, &scores[i]) && lq_cur_i32(c, &n), e, LLMQ_ERR_BOUNDS,
                 "tokenizer.bin: truncated at token %d of %d", i, vocab_size);
        LQ_CHECK(n >= 0 && n <= max_len, e, LLMQ_ERR_FORMAT,
                 "tokenizer.bin: token %d has length %d (max_token_length %d)", i, (int)n, (int)max_len);
        strs[i] = (const char *)lq_cur_take(c, (size_t)n);
        LQ_CHECK(strs[i], e, LLMQ_ERR_BOUNDS, "tokenizer.bin: token %d text runs past the end", i);
        lens[i] = (size_t)n;
    }
    return LLMQ_OK;
}

llmq_status lq_tok_from_llama2c(const void *buf, size_t len, int vocab_size, lq_tokenizer **out, lq_err *e) {
    *out = NULL;
    LQ_CHECK(buf || len == 0, e, LLMQ_ERR_ARG, "tokenizer.bin: NULL buffer");
    LQ_CHECK(vocab_size >= 3, e, LLMQ_ERR_FORMAT, "llama2.c vocab_size %d is too small for BOS 1 / EOS 2",
             vocab_size);
    lq_tokenizer *t;
    LQ_TRY(lq_tok_alloc(LQ_TOK_SPM, LQ_SRC_LLAMA2C, vocab_size, &t, e));
    const char **strs = lq_calloc_array((size_t)vocab_size, sizeof *strs);
    size_t *lens = lq_calloc_array((size_t)vocab_size, sizeof *lens);
    lq_cursor c = lq_cursor_make(buf, len);
    llmq_status st = strs && lens ? LLMQ_OK : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory reading tokenizer.bin");
    if (st == LLMQ_OK) st = l2c_read(&c, vocab_size, strs, lens, t->score, e);
    /* run.c resolves a duplicate text through bsearch; we keep the lowest id. */
    if (st == LLMQ_OK) st = lq_tok_set_texts(t, strs, lens, false, e);
    free(strs);
    free(lens);
    if (st != LLMQ_OK) {
        lq_tok_free(t);
        return st;
    }
    t->unk = 0;
    t->bos = 1;
    t->eos = 2;
    t->prefix[t->n_prefix++] = 1;
    *out = t;
    return LLMQ_OK;
}

/* ------------------------------------------------------------ GGUF */

/* A per-token array: absent is fine, otherwise it must have n elements. */
static llmq_status gguf_tok_array(const lq_gguf *g, const char *key, uint64_t n, const lq_gguf_kv **out,
                                  lq_err *e) {
    *out = lq_gguf_find(g, key);
    if (!*out) return LLMQ_OK;
    LQ_CHECK((*out)->type == LQ_GGUF_ARRAY && (*out)->arr_type != LQ_GGUF_STRING && (*out)->arr_type != LQ_GGUF_ARRAY,
             e, LLMQ_ERR_FORMAT, "%s is not a numeric array", key);
    LQ_CHECK((*out)->arr_n == n, e, LLMQ_ERR_SHAPE, "%s has %llu entries but tokenizer.ggml.tokens has %llu", key,
             (unsigned long long)(*out)->arr_n, (unsigned long long)n);
    return LLMQ_OK;
}

/* bos/eos/unk ids: absent keeps dflt; present must name a token. */
static llmq_status gguf_tok_id(const lq_gguf *g, const char *key, int32_t n_vocab, int32_t dflt, int32_t *id,
                               lq_err *e) {
    int64_t v;
    if (!lq_gguf_get_i64(g, key, &v)) {
        *id = dflt < n_vocab ? dflt : -1;
        return LLMQ_OK;
    }
    LQ_CHECK(v >= 0 && v < n_vocab, e, LLMQ_ERR_FORMAT, "%s = %lld is outside the %d-token vocabulary", key,
             (long long)v, (int)n_vocab);
    *id = (int32_t)v;
    return LLMQ_OK;
}

static bool gguf_bool(const lq_gguf *g, const char *key, bool dflt) {
    int64_t v;
    return lq_gguf_get_i64(g, key, &v) ? v != 0 : dflt;
}

/* llama.cpp's convert_hf_to_gguf stores a WordPiece vocabulary in
 * "phantom space" form: "[X]" stays, "##piece" becomes "piece" and a
 * word-initial "word" becomes U+2581 "word". This undoes it (a continuation
 * piece that itself looked like "[X]" cannot be told apart; BERT vocabularies
 * have none). Texts go to one arena *out that strs[i] point into. */
static llmq_status wpm_unphantom(const lq_gguf_kv *tokens, const char **strs, size_t *lens, char **out, lq_err *e) {
    size_t n = (size_t)tokens->arr_n, total = 0;
    for (size_t i = 0; i < n; i++)
        LQ_CHECK(lq_add_ok(total, (size_t)tokens->arr_str[i].n + 2, &total), e, LLMQ_ERR_OVERFLOW,
                 "tokenizer.ggml.tokens is too large");
    char *arena = malloc(total ? total : 1);
    LQ_CHECK(arena, e, LLMQ_ERR_NOMEM, "out of memory for the vocabulary");
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = tokens->arr_str[i].p;
        size_t len = (size_t)tokens->arr_str[i].n;
        strs[i] = arena + o;
        if (len >= 3 && memcmp(p, "\xe2\x96\x81", 3) == 0) {
            memcpy(arena + o, p + 3, len - 3);
            lens[i] = len - 3;
        } else if (len >= 2 && p[0] == '[' && p[len - 1] == ']') {
            memcpy(arena + o, p, len);
            lens[i] = len;
        } else {
            memcpy(arena + o, "##", 2);
            if (len) memcpy(arena + o + 2, p, len);
            lens[i] = len + 2;
        }
        o += lens[i];
    }
    *out = arena;
    return LLMQ_OK;
}

static llmq_status gguf_vocab(lq_tokenizer *t, const lq_gguf *g, const lq_gguf_kv *tokens, lq_err *e) {
    const lq_gguf_kv *scores, *types;
    LQ_TRY(gguf_tok_array(g, "tokenizer.ggml.scores", tokens->arr_n, &scores, e));
    LQ_TRY(gguf_tok_array(g, "tokenizer.ggml.token_type", tokens->arr_n, &types, e));
    size_t n = (size_t)tokens->arr_n;
    const char **strs = lq_calloc_array(n, sizeof *strs);
    size_t *lens = lq_calloc_array(n, sizeof *lens);
    llmq_status st = strs && lens ? LLMQ_OK : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for the vocabulary");
    char *phantom = NULL; /* WordPiece texts rebuilt from llama.cpp's phantom-space form */
    if (st == LLMQ_OK && t->kind == LQ_TOK_WPM) st = wpm_unphantom(tokens, strs, lens, &phantom, e);
    for (size_t i = 0; st == LLMQ_OK && i < n; i++) {
        if (!phantom) {
            strs[i] = tokens->arr_str[i].p;
            lens[i] = (size_t)tokens->arr_str[i].n;
        }
        double s = 0;
        int64_t ty = LQ_TT_NORMAL;
        if (scores) lq_gguf_arr_f64(scores, i, &s);
        if (types) lq_gguf_arr_i64(types, i, &ty);
        t->score[i] = (float)s;
        t->type[i] = (uint8_t)(ty >= LQ_TT_NORMAL && ty <= LQ_TT_BYTE ? ty : LQ_TT_NORMAL);
    }
    if (st == LLMQ_OK) st = lq_tok_set_texts(t, strs, lens, true, e); /* llama.cpp: last duplicate wins */
    free(phantom);
    free(strs);
    free(lens);
    return st;
}

/* tokenizer.ggml.merges: "a b" split at the first space after the first byte. */
static llmq_status gguf_merges(lq_tokenizer *t, const lq_gguf *g, lq_err *e) {
    const lq_gguf_kv *kv = lq_gguf_find(g, "tokenizer.ggml.merges");
    LQ_CHECK(kv, e, LLMQ_ERR_MISSING, "gpt2 tokenizer without tokenizer.ggml.merges");
    LQ_CHECK(kv->type == LQ_GGUF_ARRAY && kv->arr_type == LQ_GGUF_STRING, e, LLMQ_ERR_FORMAT,
             "tokenizer.ggml.merges is not a string array");
    size_t n = (size_t)kv->arr_n;
    const char **a = lq_calloc_array(n ? n : 1, sizeof *a), **b = lq_calloc_array(n ? n : 1, sizeof *b);
    size_t *la = lq_calloc_array(n ? n : 1, sizeof *la), *lb = lq_calloc_array(n ? n : 1, sizeof *lb);
    llmq_status st = a && b && la && lb ? LLMQ_OK : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for merges");
    for (size_t i = 0; st == LLMQ_OK && i < n; i++) {
        lq_str s = kv->arr_str[i];
        const char *sp = s.n > 1 ? memchr(s.p + 1, ' ', (size_t)s.n - 1) : NULL;
        if (!sp) st = lq_fail(e, LLMQ_ERR_FORMAT, "merge %zu \"%.*s\" has no space", i, (int)LQ_MIN(s.n, 40), s.p);
        else a[i] = s.p, la[i] = (size_t)(sp - s.p), b[i] = sp + 1, lb[i] = (size_t)s.n - la[i] - 1;
    }
    if (st == LLMQ_OK) st = lq_bpe_set_merges(t, a, la, b, lb, n, e);
    free(a);
    free(b);
    free(la);
    free(lb);
    return st;
}

/* A WordPiece special token: the first key present, else the token with
 * that text, else -1. */
static llmq_status wpm_special(lq_tokenizer *t, const lq_gguf *g, const char *key, const char *alt_key,
                               const char *text, int32_t *id, lq_err *e) {
    int64_t v;
    if (lq_gguf_get_i64(g, key, &v) || (alt_key && lq_gguf_get_i64(g, alt_key, &v))) {
        LQ_CHECK(v >= 0 && v < t->n_vocab, e, LLMQ_ERR_FORMAT, "%s = %lld is outside the %d-token vocabulary",
                 lq_gguf_find(g, key) ? key : alt_key, (long long)v, (int)t->n_vocab);
        *id = (int32_t)v;
    } else {
        *id = lq_tmap_get(&t->vocab, text, strlen(text), "", 0);
    }
    return LLMQ_OK;
}

/* llama.cpp's WPM vocabulary: [CLS] text [SEP], normalization as its BERT
 * tokenizer does (lowercase, strip accents) unless the llmq keys say what the
 * original tokenizer.json did. */
static llmq_status gguf_wpm_options(lq_tokenizer *t, const lq_gguf *g, lq_err *e) {
    int32_t cls, sep;
    LQ_TRY(wpm_special(t, g, "tokenizer.ggml.unknown_token_id", NULL, "[UNK]", &t->unk, e));
    LQ_TRY(wpm_special(t, g, "tokenizer.ggml.cls_token_id", "tokenizer.ggml.bos_token_id", "[CLS]", &cls, e));
    LQ_TRY(wpm_special(t, g, "tokenizer.ggml.seperator_token_id", "tokenizer.ggml.eos_token_id", "[SEP]", &sep, e));
    LQ_CHECK(t->unk >= 0, e, LLMQ_ERR_MISSING, "bert tokenizer without an unknown token ([UNK])");
    if (cls >= 0) t->prefix[t->n_prefix++] = cls;
    if (sep >= 0) t->suffix[t->n_suffix++] = sep;
    t->bos = cls;
    t->eos = sep;
    t->lowercase = gguf_bool(g, "tokenizer.llmq.lowercase", true);
    t->strip_accents = gguf_bool(g, "tokenizer.llmq.strip_accents", t->lowercase);
    t->clean_text = gguf_bool(g, "tokenizer.llmq.clean_text", true);
    t->chinese_chars = gguf_bool(g, "tokenizer.llmq.handle_chinese_chars", true);
    int64_t mx;
    if (lq_gguf_get_i64(g, "tokenizer.llmq.max_input_chars_per_word", &mx)) {
        LQ_CHECK(mx >= 1 && mx <= 1000000, e, LLMQ_ERR_FORMAT,
                 "tokenizer.llmq.max_input_chars_per_word %lld is out of range", (long long)mx);
        t->max_word_chars = (int)mx;
    }
    return lq_wpm_init(t, e);
}

static llmq_status gguf_options(lq_tokenizer *t, const lq_gguf *g, lq_err *e) {
    if (t->kind == LQ_TOK_WPM) return gguf_wpm_options(t, g, e);
    bool spm = t->kind == LQ_TOK_SPM;
    LQ_TRY(gguf_tok_id(g, "tokenizer.ggml.bos_token_id", t->n_vocab, spm ? 1 : 11, &t->bos, e));
    LQ_TRY(gguf_tok_id(g, "tokenizer.ggml.eos_token_id", t->n_vocab, spm ? 2 : 11, &t->eos, e));
    LQ_TRY(gguf_tok_id(g, "tokenizer.ggml.unknown_token_id", t->n_vocab, spm ? 0 : -1, &t->unk, e));
    t->add_space_prefix = gguf_bool(g, "tokenizer.ggml.add_space_prefix", spm);
    if (gguf_bool(g, "tokenizer.ggml.add_bos_token", spm) && t->bos >= 0) t->prefix[t->n_prefix++] = t->bos;
    if (gguf_bool(g, "tokenizer.ggml.add_eos_token", false) && t->eos >= 0) t->suffix[t->n_suffix++] = t->eos;
    if (spm) return LLMQ_OK;
    LQ_TRY(gguf_merges(t, g, e));
    lq_str pre = {"default", 7};
    lq_gguf_get_str(g, "tokenizer.ggml.pre", &pre);
    return lq_bpe_set_pre(t, pre.p, (size_t)pre.n, e);
}

llmq_status lq_tok_from_gguf(const lq_gguf *g, lq_tokenizer **out, lq_err *e) {
    *out = NULL;
    lq_str model;
    LQ_CHECK(lq_gguf_get_str(g, "tokenizer.ggml.model", &model), e, LLMQ_ERR_MISSING,
             "GGUF has no tokenizer.ggml.model");
    lq_tok_kind kind;
    if (lq_str_eq(model, "llama")) kind = LQ_TOK_SPM;
    else if (lq_str_eq(model, "gpt2")) kind = LQ_TOK_BPE;
    else if (lq_str_eq(model, "bert")) kind = LQ_TOK_WPM;
    else return lq_fail(e, LLMQ_ERR_UNSUPPORTED, "tokenizer model \"%.*s\" is not supported (llama, gpt2, bert)",
                        (int)LQ_MIN(model.n, 40), model.p);
    const lq_gguf_kv *tokens = lq_gguf_find(g, "tokenizer.ggml.tokens");
    LQ_CHECK(tokens, e, LLMQ_ERR_MISSING, "GGUF has no tokenizer.ggml.tokens");
    LQ_CHECK(tokens->type == LQ_GGUF_ARRAY && tokens->arr_type == LQ_GGUF_STRING && tokens->arr_str, e,
             LLMQ_ERR_FORMAT, "tokenizer.ggml.tokens is not a string array");
    lq_tokenizer *t;
    LQ_TRY(lq_tok_alloc(kind, LQ_SRC_GGUF, (int64_t)LQ_MIN(tokens->arr_n, (uint64_t)INT64_MAX), &t, e));
    llmq_status st = gguf_vocab(t, g, tokens, e);
    if (st == LLMQ_OK) st = gguf_options(t, g, e);
    if (st == LLMQ_OK) st = lq_tok_collect_special(t, e);
    if (st != LLMQ_OK) {
        lq_tok_free(t);
        return st;
    }
    *out = t;
    return LLMQ_OK;
}

/* ------------------------------------------------------------ tokenizer.json */

/* Highest token id named in model.vocab and added_tokens. */
static llmq_status json_max_id(const cJSON *vocab, const cJSON *added, int64_t *max_id, lq_err *e) {
    *max_id = -1;
    for (const cJSON *v = vocab->child; v; v = v->next) {
        LQ_CHECK(cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < LQ_TOK_MAX_VOCAB &&
                     v->valuedouble == (double)(int64_t)v->valuedouble,
                 e, LLMQ_ERR_JSON, "vocab entry \"%.40s\" has no valid id", v->string ? v->string : "");
        *max_id = LQ_MAX(*max_id, (int64_t)v->valuedouble);
    }
    for (const cJSON *a = added ? added->child : NULL; a; a = a->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id");
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(a, "content");
        LQ_CHECK(cJSON_IsNumber(id) && cJSON_IsString(ct) && id->valuedouble >= 0 &&
                     id->valuedouble < LQ_TOK_MAX_VOCAB,
                 e, LLMQ_ERR_JSON, "added_tokens entry without a valid id and content");
        *max_id = LQ_MAX(*max_id, (int64_t)id->valuedouble);
    }
    LQ_CHECK(*max_id >= 0, e, LLMQ_ERR_JSON, "tokenizer.json has an empty vocabulary");
    return LLMQ_OK;
}

/* Texts by id; added tokens become CONTROL (special) or USER tokens. */
static llmq_status json_vocab(lq_tokenizer *t, const cJSON *vocab, const cJSON *added, lq_err *e) {
    const char **strs = lq_calloc_array((size_t)t->n_vocab, sizeof *strs);
    size_t *lens = lq_calloc_array((size_t)t->n_vocab, sizeof *lens);
    llmq_status st = strs && lens ? LLMQ_OK : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for the vocabulary");
    for (const cJSON *v = vocab->child; v && st == LLMQ_OK; v = v->next) {
        int32_t id = (int32_t)v->valuedouble;
        if (strs[id]) st = lq_fail(e, LLMQ_ERR_JSON, "vocab id %d is used twice", (int)id);
        strs[id] = v->string ? v->string : "";
        lens[id] = strlen(strs[id]);
    }
    for (const cJSON *a = added ? added->child : NULL; a && st == LLMQ_OK; a = a->next) {
        int32_t id = (int32_t)cJSON_GetObjectItemCaseSensitive(a, "id")->valuedouble;
        strs[id] = cJSON_GetObjectItemCaseSensitive(a, "content")->valuestring;
        lens[id] = strlen(strs[id]);
        t->type[id] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "special")) ? LQ_TT_CONTROL : LQ_TT_USER;
    }
    for (int32_t i = 0; i < t->n_vocab && st == LLMQ_OK; i++)
        if (!strs[i]) t->type[i] = LQ_TT_UNUSED;
    if (st == LLMQ_OK) st = lq_tok_set_texts(t, strs, lens, false, e);
    free(strs);
    free(lens);
    return st;
}

/* Id of a special token named in a post-processor. */
static llmq_status json_special_id(const lq_tokenizer *t, const cJSON *specials, const char *name, int32_t *id,
                                   lq_err *e) {
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(specials, name);
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(sp, "ids");
    if (cJSON_IsArray(ids) && cJSON_IsNumber(ids->child)) *id = (int32_t)ids->child->valuedouble;
    else *id = lq_tmap_get(&t->vocab, name, strlen(name), "", 0);
    LQ_CHECK(*id >= 0 && *id < t->n_vocab, e, LLMQ_ERR_FORMAT, "post-processor token \"%.40s\" is not a token", name);
    return LLMQ_OK;
}

static llmq_status json_affix_add(lq_tokenizer *t, bool before, int32_t id, lq_err *e) {
    int *n = before ? &t->n_prefix : &t->n_suffix;
    LQ_CHECK(*n < LQ_TOK_MAX_AFFIX, e, LLMQ_ERR_UNSUPPORTED, "too many special tokens in the post-processor");
    (before ? t->prefix : t->suffix)[(*n)++] = id;
    return LLMQ_OK;
}

/* TemplateProcessing "single", or Bert/RobertaProcessing cls + sep. */
static llmq_status json_post(lq_tokenizer *t, const cJSON *pp, lq_err *e) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(pp, "type");
    const char *ty = cJSON_IsString(type) ? type->valuestring : "";
    if (strcmp(ty, "Sequence") == 0) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(pp, "processors");
        for (const cJSON *p = cJSON_IsArray(list) ? list->child : NULL; p; p = p->next) LQ_TRY(json_post(t, p, e));
    } else if (strcmp(ty, "TemplateProcessing") == 0) {
        const cJSON *single = cJSON_GetObjectItemCaseSensitive(pp, "single");
        const cJSON *specials = cJSON_GetObjectItemCaseSensitive(pp, "special_tokens");
        bool before = true;
        for (const cJSON *it = cJSON_IsArray(single) ? single->child : NULL; it; it = it->next) {
            const cJSON *sp = cJSON_GetObjectItemCaseSensitive(it, "SpecialToken");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(sp, "id");
            if (!sp) { before = false; continue; } /* the Sequence */
            LQ_CHECK(cJSON_IsString(name), e, LLMQ_ERR_JSON, "TemplateProcessing SpecialToken without an id");
            int32_t id;
            LQ_TRY(json_special_id(t, specials, name->valuestring, &id, e));
            LQ_TRY(json_affix_add(t, before, id, e));
        }
    } else if (strcmp(ty, "BertProcessing") == 0 || strcmp(ty, "RobertaProcessing") == 0) {
        const cJSON *cls = cJSON_GetObjectItemCaseSensitive(pp, "cls"), *sep = cJSON_GetObjectItemCaseSensitive(pp, "sep");
        LQ_CHECK(cJSON_IsArray(cls) && cJSON_IsArray(sep) && cJSON_IsNumber(cJSON_GetArrayItem(cls, 1)) &&
                     cJSON_IsNumber(cJSON_GetArrayItem(sep, 1)),
                 e, LLMQ_ERR_JSON, "%s without [token, id] cls and sep", ty);
        int32_t c = (int32_t)cJSON_GetArrayItem(cls, 1)->valuedouble, s = (int32_t)cJSON_GetArrayItem(sep, 1)->valuedouble;
        LQ_CHECK(c >= 0 && c < t->n_vocab && s >= 0 && s < t->n_vocab, e, LLMQ_ERR_FORMAT, "cls/sep ids out of range");
        LQ_TRY(json_affix_add(t, true, c, e));
        LQ_TRY(json_affix_add(t, false, s, e));
    }
    return LLMQ_OK; /* ByteLevel and others add no tokens */
}

/* bos/eos: the post-processor's first and last tokens, else common names. */
static void json_bos_eos(lq_tokenizer *t) {
    static const char *const eos_names[] = {"<|endoftext|>", "</s>", "<|end_of_text|>", "[SEP]", NULL};
    static const char *const bos_names[] = {"<s>", "<|begin_of_text|>", "[CLS]", NULL};
    t->bos = t->n_prefix ? t->prefix[0] : -1;
    t->eos = t->n_suffix ? t->suffix[t->n_suffix - 1] : -1;
    for (const char *const *n = bos_names; t->bos < 0 && *n; n++) t->bos = lq_tmap_get(&t->vocab, *n, strlen(*n), "", 0);
    for (const char *const *n = eos_names; t->eos < 0 && *n; n++) t->eos = lq_tmap_get(&t->vocab, *n, strlen(*n), "", 0);
}

static llmq_status json_build(const cJSON *root, lq_tokenizer **out, lq_err *e) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    LQ_CHECK(cJSON_IsObject(model), e, LLMQ_ERR_JSON, "tokenizer.json has no \"model\" object");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    LQ_CHECK(cJSON_IsString(type), e, LLMQ_ERR_JSON, "tokenizer.json model has no \"type\"");
    lq_tok_kind kind;
    if (strcmp(type->valuestring, "BPE") == 0) kind = LQ_TOK_BPE;
    else if (strcmp(type->valuestring, "WordPiece") == 0) kind = LQ_TOK_WPM;
    else return lq_fail(e, LLMQ_ERR_UNSUPPORTED, "tokenizer.json model type \"%.40s\" is not supported (BPE, WordPiece)",
                        type->valuestring);
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    LQ_CHECK(cJSON_IsObject(vocab), e, LLMQ_ERR_JSON, "tokenizer.json model has no \"vocab\" object");
    LQ_CHECK(!added || cJSON_IsArray(added) || cJSON_IsNull(added), e, LLMQ_ERR_JSON, "added_tokens is not an array");
    if (cJSON_IsNull(added)) added = NULL;
    int64_t max_id;
    LQ_TRY(json_max_id(vocab, added, &max_id, e));
    lq_tokenizer *t;
    LQ_TRY(lq_tok_alloc(kind, LQ_SRC_HF, max_id + 1, &t, e));
    llmq_status st = json_vocab(t, vocab, added, e);
    if (st == LLMQ_OK) st = lq_tok_collect_special(t, e);
    if (st == LLMQ_OK) st = kind == LQ_TOK_BPE ? lq_bpe_from_json(t, root, model, e) : lq_wpm_from_json(t, root, model, e);
    const cJSON *pp = cJSON_GetObjectItemCaseSensitive(root, "post_processor");
    if (st == LLMQ_OK && pp && !cJSON_IsNull(pp)) st = json_post(t, pp, e);
    if (st == LLMQ_OK && kind == LQ_TOK_WPM && !t->n_prefix && !t->n_suffix) { /* no post-processor: BERT's own */
        int32_t cls = lq_tmap_get(&t->vocab, "[CLS]", 5, "", 0), sep = lq_tmap_get(&t->vocab, "[SEP]", 5, "", 0);
        if (cls >= 0) t->prefix[t->n_prefix++] = cls;
        if (sep >= 0) t->suffix[t->n_suffix++] = sep;
    }
    if (st != LLMQ_OK) {
        lq_tok_free(t);
        return st;
    }
    json_bos_eos(t);
    *out = t;
    return LLMQ_OK;
}

llmq_status lq_tok_from_hf_json(const char *json, size_t len, lq_tokenizer **out, lq_err *e) {
    *out = NULL;
    LQ_CHECK(json || len == 0, e, LLMQ_ERR_ARG, "tokenizer.json: NULL buffer");
    cJSON *root = cJSON_ParseWithLength(json, len);
    LQ_CHECK(root, e, LLMQ_ERR_JSON, "tokenizer.json is not valid JSON (near byte %zu)",
             cJSON_GetErrorPtr() && json ? (size_t)(cJSON_GetErrorPtr() - json) : (size_t)0);
    llmq_status st = cJSON_IsObject(root) ? json_build(root, out, e)
                                          : lq_fail(e, LLMQ_ERR_JSON, "tokenizer.json is not a JSON object");
    cJSON_Delete(root);
    return st;
}
