/* Private to the tokenizer files: the lq_tokenizer struct, a string hash
 * map, a growable id vector and the bigram priority queue that SentencePiece
 * and BPE merging share. The algorithms work on plain arrays (vocab texts,
 * scores, merge ranks); the loaders in tokenizer.c only fill them. */
#ifndef LQ_TOK_INTERNAL_H
#define LQ_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cjson/cJSON.h>

#include "model/tokenizer.h"

/* Token types as llama.cpp / GGUF number them. */
enum { LQ_TT_NORMAL = 1, LQ_TT_UNKNOWN = 2, LQ_TT_CONTROL = 3, LQ_TT_USER = 4, LQ_TT_UNUSED = 5, LQ_TT_BYTE = 6 };

/* Where the vocabulary came from: decides the SentencePiece flavour. */
typedef enum lq_tok_src { LQ_SRC_LLAMA2C = 0, LQ_SRC_GGUF = 1, LQ_SRC_HF = 2 } lq_tok_src;

#define LQ_TOK_MAX_VOCAB (1 << 24)
#define LQ_TOK_MAX_RE 4
#define LQ_TOK_MAX_AFFIX 4

/* Open-addressing map from a byte string to an int. A key is stored as two
 * adjacent parts a||b so a pair of tokens (merges) and a single string
 * (vocab: lb = 0) share the code; lookups pass the parts separately. */
typedef struct lq_tmap_ent {
    const char *key; /* NULL: empty slot; points into an arena owned elsewhere */
    uint32_t la, lb;
    uint32_t hash;
    int32_t val;
} lq_tmap_ent;

typedef struct lq_tmap {
    lq_tmap_ent *slots; /* (cap), cap a power of two >= 2 * expected */
    size_t cap, n, max_n;
    bool pairs; /* keys are pairs: where a ends matters ("ab"+"c" != "a"+"bc") */
} lq_tmap;

llmq_status lq_tmap_init(lq_tmap *m, size_t expected, bool pairs, lq_err *e);
void lq_tmap_free(lq_tmap *m);
/* Inserts key[0..la+lb) split at la. With overwrite the last value wins
 * (llama.cpp's token_to_id), without it the first one stays (bpe_ranks).
 * Returns false only when the map already holds max_n keys. */
bool lq_tmap_put(lq_tmap *m, const char *key, size_t la, size_t lb, int32_t val, bool overwrite);
/* Value for a||b, or -1. */
int32_t lq_tmap_get(const lq_tmap *m, const char *a, size_t la, const char *b, size_t lb);

/* Growable vector of token ids. */
typedef struct lq_ids {
    int32_t *v;
    size_t n, cap;
} lq_ids;

llmq_status lq_ids_push(lq_ids *x, int32_t id, lq_err *e);

/* A symbol of the merge loop: a span of text (or, for llama2.c, a token). */
typedef struct lq_sym {
    int32_t prev, next; /* neighbours in the chain, -1 at the ends */
    uint32_t off, n;    /* span in the text; n == 0 once merged away */
    int32_t id;         /* token id (llama2.c mode), else unused */
} lq_sym;

/* A candidate merge of two adjacent symbols. Higher key first, then the
 * leftmost: SentencePiece uses the token score, BPE minus the merge rank. */
typedef struct lq_bigram {
    double key;
    int32_t left, right;
    uint32_t size; /* left.n + right.n when queued: stale if that changed */
    int32_t id;    /* merged token (SentencePiece) */
} lq_bigram;

typedef struct lq_bheap {
    lq_bigram *v;
    size_t n, cap;
} lq_bheap;

llmq_status lq_bheap_push(lq_bheap *h, lq_bigram b, lq_err *e);
bool lq_bheap_pop(lq_bheap *h, lq_bigram *out);

struct lq_tokenizer {
    lq_tok_kind kind;
    lq_tok_src src;
    int32_t n_vocab;
    char *arena;   /* every token text followed by a NUL */
    size_t *off;   /* (n_vocab) offset of each text in arena */
    uint32_t *len; /* (n_vocab) text length in bytes */
    float *score;  /* (n_vocab) */
    uint8_t *type; /* (n_vocab) LQ_TT_* */
    lq_tmap vocab; /* text -> id */

    int32_t bos, eos, unk; /* -1 if none */
    bool add_space_prefix; /* SentencePiece: prepend ' ' to each text run */
    int32_t prefix[LQ_TOK_MAX_AFFIX], suffix[LQ_TOK_MAX_AFFIX]; /* add_special wrapping */
    int n_prefix, n_suffix;
    int32_t *special; /* (n_special) ids matched literally in the text, longest first */
    size_t n_special;

    /* byte-level BPE */
    char *merge_arena; /* merge pairs a||b back to back */
    lq_tmap merges;    /* (a, b) -> rank */
    pcre2_code *re[LQ_TOK_MAX_RE]; /* pre-split regexes applied in turn */
    int n_re;
    bool ignore_merges;    /* a whole word found in the vocab is one token */
    bool bl_prefix_space;  /* HF ByteLevel add_prefix_space */

    /* WordPiece */
    int max_word_chars;
    bool clean_text, chinese_chars, strip_accents, lowercase;
    pcre2_code *re_class; /* (\p{Mn})|(\p{P})|(\p{C}), anchored */
};

/* Allocates a tokenizer with n_vocab empty slots (texts unset). */
llmq_status lq_tok_alloc(lq_tok_kind kind, lq_tok_src src, int64_t n_vocab, lq_tokenizer **out, lq_err *e);
/* Copies the texts into the arena and builds the vocab map. strs[i] may be
 * NULL (empty slot). overwrite: on duplicate texts the last id wins. */
llmq_status lq_tok_set_texts(lq_tokenizer *t, const char *const *strs, const size_t *lens, bool overwrite,
                             lq_err *e);
/* Collects the tokens of type CONTROL, USER or UNKNOWN for literal matching. */
llmq_status lq_tok_collect_special(lq_tokenizer *t, lq_err *e);
static inline const char *lq_tok_str(const lq_tokenizer *t, int32_t id) { return t->arena + t->off[id]; }

/* SentencePiece (tok_spm.c). */
llmq_status lq_spm_encode_llama2c(const lq_tokenizer *t, const char *text, size_t len, lq_ids *out, lq_err *e);
llmq_status lq_spm_encode(const lq_tokenizer *t, const char *text, size_t len, bool space_prefix, lq_ids *out,
                          lq_err *e);
size_t lq_spm_piece(const lq_tokenizer *t, int32_t prev, int32_t tok, char *buf, size_t cap);

/* Byte-level BPE (tok_bpe.c). */
/* Compiles the pre-split regexes for a llama.cpp `pre` name. */
llmq_status lq_bpe_set_pre(lq_tokenizer *t, const char *pre, size_t pre_len, lq_err *e);
/* Appends one compiled regex (PCRE2 syntax, UTF + UCP). */
llmq_status lq_bpe_add_regex(lq_tokenizer *t, const char *pattern, bool literal, lq_err *e);
/* Builds the merge map from n pairs (a[i], b[i]). */
llmq_status lq_bpe_set_merges(lq_tokenizer *t, const char *const *a, const size_t *la, const char *const *b,
                              const size_t *lb, size_t n, lq_err *e);
llmq_status lq_bpe_encode(const lq_tokenizer *t, const char *text, size_t len, lq_ids *out, lq_err *e);
size_t lq_bpe_piece(const lq_tokenizer *t, int32_t tok, char *buf, size_t cap);
/* tokenizer.json: model.merges, model.ignore_merges and the pre_tokenizer. */
llmq_status lq_bpe_from_json(lq_tokenizer *t, const cJSON *root, const cJSON *model, lq_err *e);

/* WordPiece (tok_wordpiece.c). */
llmq_status lq_wpm_init(lq_tokenizer *t, lq_err *e);
llmq_status lq_wpm_encode(const lq_tokenizer *t, const char *text, size_t len, lq_ids *out, lq_err *e);
size_t lq_wpm_piece(const lq_tokenizer *t, int32_t prev, int32_t tok, char *buf, size_t cap);
/* tokenizer.json: the BertNormalizer / BertPreTokenizer / WordPiece options. */
llmq_status lq_wpm_from_json(lq_tokenizer *t, const cJSON *root, const cJSON *model, lq_err *e);

/* Copies n bytes of src into buf[0..cap), returns the bytes written. */
static inline size_t lq_tok_copy(char *buf, size_t cap, const char *src, size_t n) {
    size_t k = n < cap ? n : cap;
    for (size_t i = 0; i < k; i++) buf[i] = src[i];
    return k;
}

#endif
