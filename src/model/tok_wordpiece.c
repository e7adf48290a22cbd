/* WordPiece as Hugging Face tokenizers runs it for BERT: BertNormalizer
 * (clean_text, handle_chinese_chars, strip_accents, lowercase), then
 * BertPreTokenizer (split on whitespace, isolate punctuation), then greedy
 * longest-match-first with "##" continuations; a word longer than
 * max_input_chars_per_word, or one that cannot be covered, is [UNK].
 *
 * Limits: accent stripping uses a table (NFD minus nonspacing marks) for
 * Latin-1 Supplement, Latin Extended-A/B, IPA, Greek, Cyrillic, Latin
 * Extended Additional, Greek Extended and kana, and Hangul syllables are
 * decomposed algorithmically; other precomposed letters are kept whole. Lowercasing is the simple
 * one-to-one Unicode mapping of the BMP. Unicode categories (Mn, P*, C*)
 * come from PCRE2. */
#include "model/tok_internal.h"
#include "model/unicode_util.h"

#include <stdlib.h>
#include <string.h>

enum { UC_OTHER = 0, UC_MN = 1, UC_P = 2, UC_C = 3 };

llmq_status lq_wpm_init(lq_tokenizer *t, lq_err *e) {
    int err;
    PCRE2_SIZE at;
    t->re_class = pcre2_compile((PCRE2_SPTR) "(\\p{Mn})|(\\p{P})|(\\p{C})", PCRE2_ZERO_TERMINATED,
                                PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &err, &at, NULL);
    LQ_CHECK(t->re_class, e, LLMQ_ERR_UNSUPPORTED, "PCRE2 lacks Unicode property support (error %d)", err);
    pcre2_jit_compile(t->re_class, PCRE2_JIT_COMPLETE);
    return LLMQ_OK;
}

static bool ascii_punct(uint32_t c) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

/* General category of cp, reduced to what BERT asks about. */
static int uclass(const lq_tokenizer *t, pcre2_match_data *md, uint32_t cp) {
    if (cp < 0x80) return (cp < 0x20 || cp == 0x7F) ? UC_C : ascii_punct(cp) ? UC_P : UC_OTHER;
    char u[4];
    size_t n = lq_u8_encode(cp, u);
    int rc = pcre2_match(t->re_class, (PCRE2_SPTR)u, n, 0, PCRE2_NO_UTF_CHECK, md, NULL);
    return rc == 2 ? UC_MN : rc == 3 ? UC_P : rc == 4 ? UC_C : UC_OTHER;
}

typedef struct cps {
    uint32_t *v;
    size_t n;
} cps;

/* BertNormalizer, one code point at a time (every step is per character). */
static void normalize_cp(const lq_tokenizer *t, pcre2_match_data *md, uint32_t c, cps *out) {
    if (t->clean_text) {
        bool white = c == '\t' || c == '\n' || c == '\r' || lq_u_is_white(c);
        if (c == 0 || c == LQ_U_REPLACEMENT || (!white && uclass(t, md, c) == UC_C)) return;
        if (white) c = ' ';
    }
    bool cjk = t->chinese_chars && lq_u_is_cjk(c);
    if (cjk) out->v[out->n++] = ' ';
    if (t->strip_accents && c >= 0xAC00 && c <= 0xD7A3) { /* NFD of a Hangul syllable: 2 or 3 jamo */
        uint32_t si = c - 0xAC00;
        out->v[out->n++] = 0x1100 + si / 588;
        out->v[out->n++] = 0x1161 + (si % 588) / 28;
        if (si % 28) out->v[out->n++] = 0x11A7 + si % 28;
        return;
    }
    if (t->strip_accents) {
        c = lq_u_strip_accent(c);
        if (c >= 0x300 && uclass(t, md, c) == UC_MN) return;
    }
    if (t->lowercase) c = lq_u_tolower(c);
    out->v[out->n++] = c;
    if (cjk) out->v[out->n++] = ' ';
}

/* WordPiece of one word (UTF-8 w[0..n), nc characters). */
static llmq_status wordpiece(const lq_tokenizer *t, const char *w, size_t n, size_t nc, lq_ids *out, lq_err *e) {
    if (nc > (size_t)t->max_word_chars) return lq_ids_push(out, t->unk, e);
    size_t mark = out->n, start = 0;
    while (start < n) {
        size_t end = n;
        int32_t id = -1;
        while (end > start) {
            id = start ? lq_tmap_get(&t->vocab, "##", 2, w + start, end - start)
                       : lq_tmap_get(&t->vocab, w, end, "", 0);
            if (id >= 0) break;
            do end--; while (end > start && ((uint8_t)w[end] & 0xC0) == 0x80); /* previous char boundary */
        }
        if (id < 0) { /* the whole word is unknown */
            out->n = mark;
            return lq_ids_push(out, t->unk, e);
        }
        LQ_TRY(lq_ids_push(out, id, e));
        start = end;
    }
    return LLMQ_OK;
}

/* BertPreTokenizer over the normalized code points, then WordPiece. */
static llmq_status split_words(const lq_tokenizer *t, pcre2_match_data *md, const cps *c, lq_ids *out, lq_err *e) {
    size_t cap;
    LQ_CHECK(lq_mul_ok(c->n, 4, &cap), e, LLMQ_ERR_OVERFLOW, "text too long");
    char *w = malloc(cap ? cap : 1); /* (4 * n) UTF-8 of the current word */
    LQ_CHECK(w, e, LLMQ_ERR_NOMEM, "out of memory for %zu bytes", cap);
    size_t wn = 0, nc = 0;
    llmq_status st = LLMQ_OK;
    for (size_t i = 0; i <= c->n && st == LLMQ_OK; i++) {
        uint32_t cp = i < c->n ? c->v[i] : ' ';
        bool white = lq_u_is_white(cp), punct = !white && uclass(t, md, cp) == UC_P;
        if ((white || punct) && wn) {
            st = wordpiece(t, w, wn, nc, out, e);
            wn = nc = 0;
        }
        if (white || st != LLMQ_OK) continue;
        wn += lq_u8_encode(cp, w + wn);
        nc++;
        if (punct) {
            st = wordpiece(t, w, wn, nc, out, e);
            wn = nc = 0;
        }
    }
    free(w);
    return st;
}

llmq_status lq_wpm_encode(const lq_tokenizer *t, const char *text, size_t len, lq_ids *out, lq_err *e) {
    size_t cap;
    LQ_CHECK(lq_mul_ok(len, 3, &cap), e, LLMQ_ERR_OVERFLOW, "text too long");
    cps c = {lq_malloc_array(cap ? cap : 1, sizeof(uint32_t)), 0}; /* (3 * len): CJK gains two spaces */
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(t->re_class, NULL);
    llmq_status st = c.v && md ? LLMQ_OK : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory normalizing text");
    for (size_t i = 0; i < len && st == LLMQ_OK;) {
        size_t used;
        uint32_t cp = lq_u8_decode(text + i, len - i, &used);
        normalize_cp(t, md, cp, &c);
        i += used;
    }
    if (st == LLMQ_OK) st = split_words(t, md, &c, out, e);
    pcre2_match_data_free(md);
    free(c.v);
    return st;
}

size_t lq_wpm_piece(const lq_tokenizer *t, int32_t prev, int32_t tok, char *buf, size_t cap) {
    const char *p = lq_tok_str(t, tok);
    size_t n = t->len[tok];
    if (t->type[tok] == LQ_TT_CONTROL) return 0;
    if (n >= 2 && p[0] == '#' && p[1] == '#') return lq_tok_copy(buf, cap, p + 2, n - 2);
    size_t o = 0;
    bool first = prev < 0 || prev >= t->n_vocab || t->type[prev] == LQ_TT_CONTROL;
    if (!first && cap > 0) buf[o++] = ' ';
    return o + lq_tok_copy(buf + o, cap - o, p, n);
}

/* ------------------------------------------------------------ tokenizer.json */

static bool jbool(const cJSON *o, const char *key, bool dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

static llmq_status json_normalizer(lq_tokenizer *t, const cJSON *norm, lq_err *e) {
    if (!norm || cJSON_IsNull(norm)) return LLMQ_OK; /* no normalization */
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(norm, "type");
    LQ_CHECK(cJSON_IsString(type) && strcmp(type->valuestring, "BertNormalizer") == 0, e, LLMQ_ERR_UNSUPPORTED,
             "WordPiece normalizer \"%s\" is not supported (BertNormalizer only)",
             cJSON_IsString(type) ? type->valuestring : "?");
    t->clean_text = jbool(norm, "clean_text", true);
    t->chinese_chars = jbool(norm, "handle_chinese_chars", true);
    t->lowercase = jbool(norm, "lowercase", true);
    t->strip_accents = jbool(norm, "strip_accents", t->lowercase); /* null follows lowercase */
    return LLMQ_OK;
}

llmq_status lq_wpm_from_json(lq_tokenizer *t, const cJSON *root, const cJSON *model, lq_err *e) {
    LQ_TRY(json_normalizer(t, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), e));
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(pre, "type");
    LQ_CHECK(cJSON_IsString(pt) && strcmp(pt->valuestring, "BertPreTokenizer") == 0, e, LLMQ_ERR_UNSUPPORTED,
             "WordPiece pre_tokenizer must be BertPreTokenizer");
    const cJSON *pfx = cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix");
    LQ_CHECK(!cJSON_IsString(pfx) || strcmp(pfx->valuestring, "##") == 0, e, LLMQ_ERR_UNSUPPORTED,
             "WordPiece continuing_subword_prefix must be \"##\"");
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(model, "max_input_chars_per_word");
    if (cJSON_IsNumber(mx)) {
        LQ_CHECK(mx->valuedouble >= 1 && mx->valuedouble <= 1e6, e, LLMQ_ERR_JSON,
                 "max_input_chars_per_word %g is out of range", mx->valuedouble);
        t->max_word_chars = (int)mx->valuedouble;
    }
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
    LQ_CHECK(cJSON_IsString(unk), e, LLMQ_ERR_JSON, "WordPiece model without an \"unk_token\"");
    t->unk = lq_tmap_get(&t->vocab, unk->valuestring, strlen(unk->valuestring), "", 0);
    LQ_CHECK(t->unk >= 0, e, LLMQ_ERR_FORMAT, "unk_token \"%.40s\" is not in the vocabulary", unk->valuestring);
    return lq_wpm_init(t, e);
}

/* ------------------------------------------------------------ GGUF metadata */

/* Writes the vocabulary as llama.cpp's convert_hf_to_gguf does for BERT
 * (phantom-space texts, see wpm_unphantom in tokenizer.c), its special ids,
 * and the normalizer options llama.cpp has no key for as tokenizer.llmq.*. */
static llmq_status wpm_gguf_tokens(const lq_tokenizer *t, lq_gguf_writer *w, lq_err *e) {
    size_t n = (size_t)t->n_vocab;
    const char **strs = lq_calloc_array(n, sizeof *strs);
    size_t *lens = lq_calloc_array(n, sizeof *lens);
    float *scores = lq_calloc_array(n, sizeof *scores);
    int32_t *types = lq_calloc_array(n, sizeof *types);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += t->len[i] + 3;
    char *arena = malloc(total ? total : 1);
    llmq_status st = strs && lens && scores && types && arena ? LLMQ_OK
                                                              : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for the vocabulary");
    size_t o = 0;
    for (size_t i = 0; st == LLMQ_OK && i < n; i++) {
        const char *p = lq_tok_str(t, (int32_t)i);
        size_t len = t->len[i];
        strs[i] = arena + o;
        if (len >= 2 && p[0] == '[' && p[len - 1] == ']') {
            memcpy(arena + o, p, len);
            lens[i] = len;
        } else if (len >= 2 && p[0] == '#' && p[1] == '#') {
            memcpy(arena + o, p + 2, len - 2);
            lens[i] = len - 2;
        } else {
            memcpy(arena + o, "\xe2\x96\x81", 3);
            if (len) memcpy(arena + o + 3, p, len);
            lens[i] = len + 3;
        }
        o += lens[i];
        types[i] = t->type[i];
    }
    if (st == LLMQ_OK) st = lq_gguf_add_str(w, "tokenizer.ggml.model", "bert");
    if (st == LLMQ_OK) st = lq_gguf_add_arr_str(w, "tokenizer.ggml.tokens", strs, lens, n);
    if (st == LLMQ_OK) st = lq_gguf_add_arr(w, "tokenizer.ggml.scores", LQ_GGUF_FLOAT32, scores, n);
    if (st == LLMQ_OK) st = lq_gguf_add_arr(w, "tokenizer.ggml.token_type", LQ_GGUF_INT32, types, n);
    free(strs);
    free(lens);
    free(scores);
    free(types);
    free(arena);
    return st;
}

llmq_status lq_wpm_to_gguf(const lq_tokenizer *t, lq_gguf_writer *w, int n_types, lq_err *e) {
    LQ_CHECK(t && t->kind == LQ_TOK_WPM, e, LLMQ_ERR_ARG, "not a WordPiece tokenizer");
    LQ_TRY(wpm_gguf_tokens(t, w, e));
    int32_t cls = t->n_prefix ? t->prefix[0] : -1, sep = t->n_suffix ? t->suffix[0] : -1;
    int32_t pad = lq_tmap_get(&t->vocab, "[PAD]", 5, "", 0), mask = lq_tmap_get(&t->vocab, "[MASK]", 6, "", 0);
    llmq_status st = lq_gguf_add_u32(w, "tokenizer.ggml.token_type_count", (uint32_t)n_types);
    if (st == LLMQ_OK && t->unk >= 0) st = lq_gguf_add_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)t->unk);
    if (st == LLMQ_OK && sep >= 0) st = lq_gguf_add_u32(w, "tokenizer.ggml.seperator_token_id", (uint32_t)sep);
    if (st == LLMQ_OK && pad >= 0) st = lq_gguf_add_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)pad);
    if (st == LLMQ_OK && cls >= 0) st = lq_gguf_add_u32(w, "tokenizer.ggml.cls_token_id", (uint32_t)cls);
    if (st == LLMQ_OK && mask >= 0) st = lq_gguf_add_u32(w, "tokenizer.ggml.mask_token_id", (uint32_t)mask);
    /* llama.cpp's WPM tokenizer starts with BOS and ends with SEP */
    if (st == LLMQ_OK && cls >= 0) st = lq_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)cls);
    if (st == LLMQ_OK) st = lq_gguf_add_bool(w, "tokenizer.ggml.add_bos_token", cls >= 0);
    if (st == LLMQ_OK) st = lq_gguf_add_bool(w, "tokenizer.ggml.add_eos_token", false);
    if (st == LLMQ_OK) st = lq_gguf_add_bool(w, "tokenizer.ggml.add_sep_token", sep >= 0);
    if (st == LLMQ_OK) st = lq_gguf_add_bool(w, "tokenizer.llmq.lowercase", t->lowercase);
    if (st == LLMQ_OK) st = lq_gguf_add_bool(w, "tokenizer.llmq.strip_accents", t->strip_accents);
    if (st == LLMQ_OK) st = lq_gguf_add_bool(w, "tokenizer.llmq.clean_text", t->clean_text);
    if (st == LLMQ_OK) st = lq_gguf_add_bool(w, "tokenizer.llmq.handle_chinese_chars", t->chinese_chars);
    if (st == LLMQ_OK) st = lq_gguf_add_u32(w, "tokenizer.llmq.max_input_chars_per_word", (uint32_t)t->max_word_chars);
    if (st != LLMQ_OK) lq_fail(e, st, "cannot write the tokenizer metadata");
    return st;
}
