/* GPT-2-style byte-level BPE, as llama.cpp's llm_tokenizer_bpe does it:
 * split the text with the pre-tokenizer regexes (each one refines the words
 * of the previous), spell every byte of a word as its GPT-2 unicode
 * character, then merge adjacent symbols by merge rank, lowest first and
 * leftmost on ties. Symbols that are not tokens are looked up byte by byte. */
#include "model/tok_internal.h"
#include "model/unicode_util.h"

#include <stdlib.h>
#include <string.h>

/* GPT-2's pattern as llama.cpp writes it (no trailing |\s+: the
 * \s+(?!\S) branch already takes all whitespace). */
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
/* The same with \s+ last, as Hugging Face's ByteLevel pre-tokenizer has it. */
#define RE_GPT2_HF RE_GPT2 "|\\s+"
#define RE_LLAMA3                                                                                        \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| " \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* ------------------------------------------------------------ set-up */

llmq_status lq_bpe_add_regex(lq_tokenizer *t, const char *pattern, bool literal, lq_err *e) {
    LQ_CHECK(t->n_re < LQ_TOK_MAX_RE, e, LLMQ_ERR_UNSUPPORTED, "more than %d pre-tokenizer splits", LQ_TOK_MAX_RE);
    int err;
    PCRE2_SIZE at;
    uint32_t opts = PCRE2_UTF | PCRE2_UCP | (literal ? PCRE2_LITERAL : 0);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts, &err, &at, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        return lq_fail(e, LLMQ_ERR_UNSUPPORTED, "pre-tokenizer regex does not compile at %zu: %s", (size_t)at,
                       (const char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* optional: the interpreter is the fallback */
    t->re[t->n_re++] = re;
    return LLMQ_OK;
}

static bool pre_is(const char *pre, size_t n, const char *const *names) {
    for (; *names; names++)
        if (strlen(*names) == n && memcmp(pre, *names, n) == 0) return true;
    return false;
}

/* Regexes per tokenizer.ggml.pre, following llama.cpp's llama-vocab.cpp. */
llmq_status lq_bpe_set_pre(lq_tokenizer *t, const char *pre, size_t n, lq_err *e) {
    static const char *const digits_first[] = {"smollm", "starcoder", "refact", "command-r", "codeshell",
                                               "exaone", "minerva", NULL};
    static const char *const llama3[] = {"llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral", NULL};
    static const char *const dflt[] = {"default", NULL};
    if (pre_is(pre, n, digits_first)) { /* every digit alone, then GPT-2 */
        LQ_TRY(lq_bpe_add_regex(t, "\\p{N}", false, e));
        return lq_bpe_add_regex(t, RE_GPT2, false, e);
    }
    if (pre_is(pre, n, llama3)) {
        t->ignore_merges = pre_is(pre, n, (const char *const[]){"llama3", "llama-v3", "llama-bpe", NULL});
        return lq_bpe_add_regex(t, RE_LLAMA3, false, e);
    }
    if (pre_is(pre, n, dflt)) { /* llama.cpp's LLAMA_VOCAB_PRE_TYPE_DEFAULT */
        LQ_TRY(lq_bpe_add_regex(t, "[\\p{P}\\$\\+<=>\\^~\\|]+", false, e));
        LQ_TRY(lq_bpe_add_regex(t, RE_GPT2, false, e));
        LQ_TRY(lq_bpe_add_regex(t, "\\p{N}+", false, e));
        return lq_bpe_add_regex(t, "[0-9][0-9][0-9]", false, e);
    }
    /* "gpt2", "mpt", "olmo", "jais", ... and any name we do not know (llama.cpp
     * would refuse those): the plain GPT-2 split is the common ancestor. */
    return lq_bpe_add_regex(t, RE_GPT2, false, e);
}

llmq_status lq_bpe_set_merges(lq_tokenizer *t, const char *const *a, const size_t *la, const char *const *b,
                              const size_t *lb, size_t n, lq_err *e) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        LQ_CHECK(la[i] < UINT32_MAX && lb[i] < UINT32_MAX && lq_add_ok(total, la[i] + lb[i], &total), e,
                 LLMQ_ERR_OVERFLOW, "merge %zu is too long", i);
    }
    LQ_CHECK(n <= INT32_MAX, e, LLMQ_ERR_OVERFLOW, "%zu merges is too many", n);
    t->merge_arena = malloc(total ? total : 1);
    LQ_CHECK(t->merge_arena, e, LLMQ_ERR_NOMEM, "out of memory for %zu bytes of merges", total);
    LQ_TRY(lq_tmap_init(&t->merges, n, true, e));
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(t->merge_arena + o, a[i], la[i]);
        memcpy(t->merge_arena + o + la[i], b[i], lb[i]);
        lq_tmap_put(&t->merges, t->merge_arena + o, la[i], lb[i], (int32_t)i, false); /* first rank stays */
        o += la[i] + lb[i];
    }
    return LLMQ_OK;
}

/* ------------------------------------------------------------ pre-split */

typedef struct span {
    size_t off, len;
} span;

typedef struct spans {
    span *v;
    size_t n, cap;
} spans;

static llmq_status spans_push(spans *s, size_t off, size_t len, lq_err *e) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        span *v = s->cap < SIZE_MAX / 64 ? realloc(s->v, cap * sizeof *v) : NULL;
        LQ_CHECK(v, e, LLMQ_ERR_NOMEM, "out of memory splitting words");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (span){off, len};
    return LLMQ_OK;
}

/* Splits each span of in at the matches of re: matches and the text between
 * them become words (llama.cpp's unicode_regex_split). Lookarounds see
 * only the span, as llama.cpp matches each word on its own. */
static llmq_status split_regex(const pcre2_code *re, pcre2_match_data *md, const char *s, const spans *in, spans *out,
                               lq_err *e) {
    for (size_t k = 0; k < in->n; k++) {
        const char *w = s + in->v[k].off;
        size_t len = in->v[k].len, pos = 0, last = 0;
        while (pos < len) {
            int rc = pcre2_match(re, (PCRE2_SPTR)w, len, pos, PCRE2_NO_UTF_CHECK, md, NULL);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            LQ_CHECK(rc >= 0, e, LLMQ_ERR_FORMAT, "pre-tokenizer regex failed (PCRE2 error %d)", rc);
            const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            if (ov[1] <= ov[0]) { /* empty match: step over one character */
                pos = ov[0] + LQ_MIN(lq_u8_len((uint8_t)w[ov[0]]), len - ov[0]);
                continue;
            }
            if (ov[0] > last) LQ_TRY(spans_push(out, in->v[k].off + last, ov[0] - last, e));
            LQ_TRY(spans_push(out, in->v[k].off + ov[0], ov[1] - ov[0], e));
            last = pos = ov[1];
        }
        if (last < len) LQ_TRY(spans_push(out, in->v[k].off + last, len - last, e));
    }
    return LLMQ_OK;
}

static llmq_status split_all(const lq_tokenizer *t, const char *s, size_t n, spans *words, lq_err *e) {
    LQ_TRY(spans_push(words, 0, n, e));
    for (int r = 0; r < t->n_re; r++) {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(t->re[r], NULL);
        LQ_CHECK(md, e, LLMQ_ERR_NOMEM, "out of memory for regex match data");
        spans next = {0};
        llmq_status st = split_regex(t->re[r], md, s, words, &next, e);
        pcre2_match_data_free(md);
        free(words->v);
        *words = next;
        LQ_TRY(st);
    }
    return LLMQ_OK;
}

/* Copies text with invalid UTF-8 bytes replaced by U+FFFD (PCRE2 needs valid
 * UTF-8; llama.cpp substitutes the same way) and an optional leading space. */
static llmq_status sanitize(const char *text, size_t len, bool lead_space, char **out, size_t *n, lq_err *e) {
    size_t cap;
    LQ_CHECK(lq_mul_ok(len, 3, &cap) && lq_add_ok(cap, 2, &cap), e, LLMQ_ERR_OVERFLOW, "text too long");
    char *d = malloc(cap);
    LQ_CHECK(d, e, LLMQ_ERR_NOMEM, "out of memory for %zu bytes", cap);
    size_t o = 0;
    if (lead_space && (len == 0 || text[0] != ' ')) d[o++] = ' ';
    for (size_t i = 0; i < len;) {
        size_t used;
        uint32_t cp = lq_u8_decode(text + i, len - i, &used);
        if (cp == LQ_U_REPLACEMENT && used == 1) o += lq_u8_encode(cp, d + o);
        else { memcpy(d + o, text + i, used); o += used; }
        i += used;
    }
    *out = d;
    *n = o;
    return LLMQ_OK;
}

/* ------------------------------------------------------------ merging */

typedef struct bpe_state {
    char *w;     /* (w_cap) the word spelled in GPT-2 unicode */
    lq_sym *sym; /* (w_cap) */
    size_t w_cap;
    int32_t n_sym;
    lq_bheap heap;
} bpe_state;

static llmq_status bpe_try_pair(const lq_tokenizer *t, bpe_state *s, int32_t left, int32_t right, lq_err *e) {
    if (left < 0 || right < 0) return LLMQ_OK;
    const lq_sym *l = &s->sym[left], *r = &s->sym[right];
    int32_t rank = lq_tmap_get(&t->merges, s->w + l->off, l->n, s->w + r->off, r->n);
    if (rank < 0) return LLMQ_OK;
    lq_bigram b = {-(double)rank, left, right, l->n + r->n, -1};
    return lq_bheap_push(&s->heap, b, e);
}

static llmq_status bpe_emit(const lq_tokenizer *t, const char *p, size_t n, lq_ids *out, lq_err *e) {
    int32_t id = lq_tmap_get(&t->vocab, p, n, "", 0);
    if (id >= 0) return lq_ids_push(out, id, e);
    for (size_t k = 0; k < n; k++) {
        id = lq_tmap_get(&t->vocab, p + k, 1, "", 0);
        if (id >= 0) LQ_TRY(lq_ids_push(out, id, e));
    }
    return LLMQ_OK;
}

/* Spells raw bytes as GPT-2 unicode characters into s->w. */
static llmq_status bpe_spell(bpe_state *s, const char *raw, size_t n, size_t *wn, lq_err *e) {
    if (n * 2 > s->w_cap) {
        size_t cap = n * 2;
        free(s->w);
        free(s->sym);
        s->w = malloc(cap);
        s->sym = lq_malloc_array(cap, sizeof *s->sym);
        LQ_CHECK(s->w && s->sym, e, LLMQ_ERR_NOMEM, "out of memory for a %zu-byte word", n);
        s->w_cap = cap;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) o += lq_u8_encode(lq_byte_to_unicode((uint8_t)raw[i]), s->w + o);
    *wn = o;
    return LLMQ_OK;
}

static llmq_status bpe_word(const lq_tokenizer *t, bpe_state *s, const char *raw, size_t n, lq_ids *out,
                            lq_err *e) {
    size_t wn = 0;
    LQ_TRY(bpe_spell(s, raw, n, &wn, e));
    LQ_CHECK(wn < INT32_MAX, e, LLMQ_ERR_OVERFLOW, "word too long");
    if (t->ignore_merges && lq_tmap_get(&t->vocab, s->w, wn, "", 0) >= 0) return bpe_emit(t, s->w, wn, out, e);
    s->n_sym = 0;
    s->heap.n = 0;
    for (size_t off = 0; off < wn;) {
        size_t cl = LQ_MIN(lq_u8_len((uint8_t)s->w[off]), wn - off);
        int32_t i = s->n_sym++;
        s->sym[i] = (lq_sym){i - 1, -1, (uint32_t)off, (uint32_t)cl, -1};
        if (i > 0) s->sym[i - 1].next = i;
        off += cl;
    }
    for (int32_t i = 1; i < s->n_sym; i++) LQ_TRY(bpe_try_pair(t, s, i - 1, i, e));
    lq_bigram b;
    while (lq_bheap_pop(&s->heap, &b)) {
        lq_sym *l = &s->sym[b.left], *r = &s->sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s->sym[r->next].prev = b.left;
        LQ_TRY(bpe_try_pair(t, s, l->prev, b.left, e));
        LQ_TRY(bpe_try_pair(t, s, b.left, l->next, e));
    }
    for (int32_t i = s->n_sym ? 0 : -1; i >= 0; i = s->sym[i].next)
        LQ_TRY(bpe_emit(t, s->w + s->sym[i].off, s->sym[i].n, out, e));
    return LLMQ_OK;
}

llmq_status lq_bpe_encode(const lq_tokenizer *t, const char *text, size_t len, lq_ids *out, lq_err *e) {
    char *s = NULL;
    size_t n = 0;
    LQ_TRY(sanitize(text, len, t->bl_prefix_space, &s, &n, e));
    spans words = {0};
    bpe_state st = {0};
    llmq_status rc = split_all(t, s, n, &words, e);
    for (size_t k = 0; k < words.n && rc == LLMQ_OK; k++)
        rc = bpe_word(t, &st, s + words.v[k].off, words.v[k].len, out, e);
    free(st.w);
    free(st.sym);
    free(st.heap.v);
    free(words.v);
    free(s);
    return rc;
}

/* ------------------------------------------------------------ decoding */

size_t lq_bpe_piece(const lq_tokenizer *t, int32_t tok, char *buf, size_t cap) {
    const char *p = lq_tok_str(t, tok);
    size_t n = t->len[tok], o = 0;
    uint8_t ty = t->type[tok];
    if (ty == LQ_TT_CONTROL || ty == LQ_TT_UNKNOWN || ty == LQ_TT_UNUSED) return 0;
    if (ty == LQ_TT_USER) return lq_tok_copy(buf, cap, p, n); /* added tokens are stored raw */
    for (size_t i = 0; i < n && o < cap;) {
        size_t used;
        uint32_t cp = lq_u8_decode(p + i, n - i, &used);
        int b = lq_unicode_to_byte(cp);
        if (b >= 0) buf[o++] = (char)b;
        else o += lq_tok_copy(buf + o, cap - o, p + i, used); /* not a byte character: keep it */
        i += used;
    }
    return o;
}

/* ------------------------------------------------------------ tokenizer.json */

static llmq_status json_merges(lq_tokenizer *t, const cJSON *arr, lq_err *e) {
    size_t n = (size_t)cJSON_GetArraySize(arr);
    const char **a = lq_calloc_array(n ? n : 1, sizeof *a), **b = lq_calloc_array(n ? n : 1, sizeof *b);
    size_t *la = lq_calloc_array(n ? n : 1, sizeof *la), *lb = lq_calloc_array(n ? n : 1, sizeof *lb);
    llmq_status st = a && b && la && lb ? LLMQ_OK : lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for merges");
    size_t i = 0;
    for (const cJSON *m = arr->child; m && st == LLMQ_OK; m = m->next, i++) {
        if (cJSON_IsString(m)) { /* "a b" */
            const char *s = m->valuestring, *sp = s[0] ? strchr(s + 1, ' ') : NULL;
            if (!sp) { st = lq_fail(e, LLMQ_ERR_JSON, "merge %zu \"%.40s\" has no space", i, s); break; }
            a[i] = s, la[i] = (size_t)(sp - s), b[i] = sp + 1, lb[i] = strlen(sp + 1);
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
                   cJSON_IsString(m->child->next)) { /* ["a", "b"] */
            a[i] = m->child->valuestring, la[i] = strlen(a[i]);
            b[i] = m->child->next->valuestring, lb[i] = strlen(b[i]);
        } else {
            st = lq_fail(e, LLMQ_ERR_JSON, "merge %zu is neither \"a b\" nor [a, b]", i);
        }
    }
    if (st == LLMQ_OK) st = lq_bpe_set_merges(t, a, la, b, lb, n, e);
    free(a);
    free(b);
    free(la);
    free(lb);
    return st;
}

static const char *jstr(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* One pre-tokenizer: Split (Isolated), Digits or ByteLevel. */
static llmq_status json_pre_one(lq_tokenizer *t, const cJSON *p, lq_err *e) {
    const char *type = jstr(p, "type");
    LQ_CHECK(type, e, LLMQ_ERR_JSON, "pre_tokenizer without a \"type\"");
    if (strcmp(type, "ByteLevel") == 0) {
        t->bl_prefix_space = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "add_prefix_space"));
        const cJSON *ur = cJSON_GetObjectItemCaseSensitive(p, "use_regex");
        if (ur && cJSON_IsFalse(ur)) return LLMQ_OK;
        return lq_bpe_add_regex(t, RE_GPT2_HF, false, e);
    }
    if (strcmp(type, "Digits") == 0) {
        bool one = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "individual_digits"));
        return lq_bpe_add_regex(t, one ? "\\p{N}" : "\\p{N}+", false, e);
    }
    if (strcmp(type, "Split") == 0) {
        const char *beh = jstr(p, "behavior");
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(p, "pattern");
        LQ_CHECK(beh && strcmp(beh, "Isolated") == 0 && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "invert")),
                 e, LLMQ_ERR_UNSUPPORTED, "Split pre-tokenizer: only behavior Isolated without invert is supported");
        const char *re = jstr(pat, "Regex"), *lit = jstr(pat, "String");
        LQ_CHECK(re || lit, e, LLMQ_ERR_JSON, "Split pre-tokenizer without a Regex or String pattern");
        return lq_bpe_add_regex(t, re ? re : lit, re == NULL, e);
    }
    return lq_fail(e, LLMQ_ERR_UNSUPPORTED, "pre_tokenizer type \"%s\" is not supported for BPE", type);
}

llmq_status lq_bpe_from_json(lq_tokenizer *t, const cJSON *root, const cJSON *model, lq_err *e) {
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    LQ_CHECK(cJSON_IsArray(merges), e, LLMQ_ERR_JSON, "tokenizer.json: BPE model without a \"merges\" array");
    LQ_TRY(json_merges(t, merges, e));
    t->ignore_merges = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "ignore_merges"));
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    const char *nt = jstr(norm, "type");
    LQ_CHECK(!norm || cJSON_IsNull(norm) || (nt && strcmp(nt, "NFC") == 0), e, LLMQ_ERR_UNSUPPORTED,
             "BPE normalizer \"%s\" is not supported", nt ? nt : "?");
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    if (!pre || cJSON_IsNull(pre)) return LLMQ_OK;
    const char *pt = jstr(pre, "type");
    if (pt && strcmp(pt, "Sequence") == 0) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(pre, "pretokenizers");
        LQ_CHECK(cJSON_IsArray(list), e, LLMQ_ERR_JSON, "Sequence pre_tokenizer without \"pretokenizers\"");
        for (const cJSON *p = list->child; p; p = p->next) LQ_TRY(json_pre_one(t, p, e));
        return LLMQ_OK;
    }
    return json_pre_one(t, pre, e);
}
