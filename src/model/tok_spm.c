/* SentencePiece-style BPE with scores, in two flavours:
 *  - llama2.c: run.c encode() (dummy " " token, code point lookup, byte
 *    fallback to id byte+3, then merge the adjacent token pair whose
 *    concatenated text has the highest score, leftmost on ties);
 *  - llama.cpp ("llama" GGUF vocab): spaces become U+2581, bigrams of text
 *    spans merge by score, unknown symbols fall back to <0xNN> tokens.
 * Both run the same priority queue, so long inputs stay O(n log n). */
#include "model/tok_internal.h"
#include "model/unicode_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct spm_state {
    lq_sym *sym; /* (n_sym) */
    int32_t n_sym;
    lq_bheap heap;
} spm_state;

static void spm_state_free(spm_state *s) {
    free(s->sym);
    free(s->heap.v);
}

static llmq_status sym_append(spm_state *s, size_t cap, uint32_t off, uint32_t n, int32_t id, lq_err *e) {
    LQ_CHECK((size_t)s->n_sym < cap, e, LLMQ_ERR_ARG, "internal: symbol buffer too small");
    int32_t i = s->n_sym++;
    s->sym[i] = (lq_sym){i - 1, -1, off, n, id};
    if (i > 0) s->sym[i - 1].next = i;
    return LLMQ_OK;
}

/* Removes right from the chain after its text was merged into left. */
static void sym_merge(spm_state *s, int32_t left, int32_t right) {
    lq_sym *l = &s->sym[left], *r = &s->sym[right];
    l->n += r->n;
    r->n = 0;
    l->next = r->next;
    if (r->next >= 0) s->sym[r->next].prev = left;
}

/* ------------------------------------------------------------ llama2.c */

/* Candidate merge of two adjacent tokens: their texts concatenated. */
static llmq_status l2c_try_pair(const lq_tokenizer *t, spm_state *s, int32_t left, int32_t right, lq_err *e) {
    if (left < 0 || right < 0) return LLMQ_OK;
    const lq_sym *l = &s->sym[left], *r = &s->sym[right];
    int32_t id = lq_tmap_get(&t->vocab, lq_tok_str(t, l->id), t->len[l->id], lq_tok_str(t, r->id), t->len[r->id]);
    if (id < 0 || !(t->score[id] > -1e10f)) return LLMQ_OK; /* run.c starts its search at -1e10 */
    lq_bigram b = {t->score[id], left, right, l->n + r->n, id};
    return lq_bheap_push(&s->heap, b, e);
}

static llmq_status l2c_initial(const lq_tokenizer *t, const char *text, size_t len, spm_state *s, size_t cap,
                               lq_err *e) {
    int32_t sp = lq_tmap_get(&t->vocab, " ", 1, "", 0); /* add_dummy_prefix */
    if (sp >= 0) LQ_TRY(sym_append(s, cap, 0, 1, sp, e));
    const uint8_t *u = (const uint8_t *)text;
    size_t start = 0, n = 0; /* current code point: text[start .. start+n) */
    for (size_t i = 0; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) { start = i; n = 0; }
        n++;
        uint8_t next = i + 1 < len ? u[i + 1] : 0;
        if ((next & 0xC0) == 0x80 && n < 4) continue;
        int32_t id = lq_tmap_get(&t->vocab, text + start, n, "", 0);
        if (id >= 0) {
            LQ_TRY(sym_append(s, cap, 0, 1, id, e));
        } else {
            for (size_t k = 0; k < n; k++) { /* byte fallback: <0x00> is id 3 */
                int32_t b = (int32_t)u[start + k] + 3;
                LQ_TRY(sym_append(s, cap, 0, 1, b < t->n_vocab ? b : LQ_MAX(t->unk, 0), e));
            }
        }
        n = 0;
    }
    return LLMQ_OK;
}

static llmq_status l2c_run(const lq_tokenizer *t, const char *text, size_t len, spm_state *s, lq_ids *out,
                           lq_err *e) {
    size_t cap;
    LQ_CHECK(lq_add_ok(len, 1, &cap), e, LLMQ_ERR_OVERFLOW, "text too long");
    s->sym = lq_malloc_array(cap, sizeof *s->sym); /* (len + 1): one per byte plus the dummy prefix */
    LQ_CHECK(s->sym && cap <= INT32_MAX, e, LLMQ_ERR_NOMEM, "out of memory for %zu symbols", cap);
    LQ_TRY(l2c_initial(t, text, len, s, cap, e));
    for (int32_t i = 1; i < s->n_sym; i++) LQ_TRY(l2c_try_pair(t, s, i - 1, i, e));
    lq_bigram b;
    while (lq_bheap_pop(&s->heap, &b)) {
        lq_sym *l = &s->sym[b.left], *r = &s->sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* stale */
        sym_merge(s, b.left, b.right);
        l->id = b.id;
        LQ_TRY(l2c_try_pair(t, s, l->prev, b.left, e));
        LQ_TRY(l2c_try_pair(t, s, b.left, l->next, e));
    }
    for (int32_t i = s->n_sym ? 0 : -1; i >= 0; i = s->sym[i].next) LQ_TRY(lq_ids_push(out, s->sym[i].id, e));
    return LLMQ_OK;
}

llmq_status lq_spm_encode_llama2c(const lq_tokenizer *t, const char *text, size_t len, lq_ids *out, lq_err *e) {
    spm_state s = {0};
    llmq_status st = l2c_run(t, text, len, &s, out, e);
    spm_state_free(&s);
    return st;
}

/* ------------------------------------------------------------ llama.cpp */

static llmq_status spm_try_pair(const lq_tokenizer *t, const char *txt, spm_state *s, int32_t left, int32_t right,
                                lq_err *e) {
    if (left < 0 || right < 0) return LLMQ_OK;
    const lq_sym *l = &s->sym[left], *r = &s->sym[right];
    int32_t id = lq_tmap_get(&t->vocab, txt + l->off, l->n + r->n, "", 0); /* spans are adjacent */
    if (id < 0) return LLMQ_OK;
    lq_bigram b = {t->score[id], left, right, l->n + r->n, id};
    return lq_bheap_push(&s->heap, b, e);
}

static int32_t spm_byte_token(const lq_tokenizer *t, uint8_t byte) {
    char hex[8];
    snprintf(hex, sizeof hex, "<0x%02X>", byte);
    int32_t id = lq_tmap_get(&t->vocab, hex, 6, "", 0);
    if (id < 0) id = lq_tmap_get(&t->vocab, (const char *)&byte, 1, "", 0);
    return id >= 0 ? id : t->unk; /* llama.cpp would throw here */
}

/* Symbols that are not tokens are spelled out as byte tokens. */
static llmq_status spm_emit(const lq_tokenizer *t, const char *txt, const lq_sym *y, lq_ids *out, lq_err *e) {
    int32_t id = lq_tmap_get(&t->vocab, txt + y->off, y->n, "", 0);
    if (id >= 0) return lq_ids_push(out, id, e);
    for (uint32_t k = 0; k < y->n; k++) {
        int32_t b = spm_byte_token(t, (uint8_t)txt[y->off + k]);
        if (b >= 0) LQ_TRY(lq_ids_push(out, b, e));
    }
    return LLMQ_OK;
}

/* txt: ' ' + text when space_prefix, every ' ' as U+2581 (3 bytes). */
static llmq_status spm_escape(const char *text, size_t len, bool space_prefix, char **txt, size_t *n, lq_err *e) {
    size_t cap;
    LQ_CHECK(lq_mul_ok(len + 1, 3, &cap), e, LLMQ_ERR_OVERFLOW, "text too long");
    char *d = malloc(cap);
    LQ_CHECK(d, e, LLMQ_ERR_NOMEM, "out of memory for %zu bytes", cap);
    size_t o = 0;
    if (space_prefix) { memcpy(d, "\xe2\x96\x81", 3); o = 3; }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') { memcpy(d + o, "\xe2\x96\x81", 3); o += 3; }
        else d[o++] = text[i];
    }
    *txt = d;
    *n = o;
    return LLMQ_OK;
}

static llmq_status spm_run(const lq_tokenizer *t, const char *txt, size_t n, spm_state *s, lq_ids *out, lq_err *e) {
    LQ_CHECK(n < INT32_MAX, e, LLMQ_ERR_OVERFLOW, "text too long");
    s->sym = lq_malloc_array(n ? n : 1, sizeof *s->sym); /* (n): at most one symbol per byte */
    LQ_CHECK(s->sym, e, LLMQ_ERR_NOMEM, "out of memory for %zu symbols", n);
    for (size_t off = 0; off < n;) { /* one symbol per UTF-8 character */
        size_t cl = LQ_MIN(lq_u8_len((uint8_t)txt[off]), n - off);
        LQ_TRY(sym_append(s, n, (uint32_t)off, (uint32_t)cl, -1, e));
        off += cl;
    }
    for (int32_t i = 1; i < s->n_sym; i++) LQ_TRY(spm_try_pair(t, txt, s, i - 1, i, e));
    lq_bigram b;
    while (lq_bheap_pop(&s->heap, &b)) {
        lq_sym *l = &s->sym[b.left], *r = &s->sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* stale */
        sym_merge(s, b.left, b.right);
        LQ_TRY(spm_try_pair(t, txt, s, l->prev, b.left, e));
        LQ_TRY(spm_try_pair(t, txt, s, b.left, l->next, e));
    }
    for (int32_t i = s->n_sym ? 0 : -1; i >= 0; i = s->sym[i].next) LQ_TRY(spm_emit(t, txt, &s->sym[i], out, e));
    return LLMQ_OK;
}

llmq_status lq_spm_encode(const lq_tokenizer *t, const char *text, size_t len, bool space_prefix, lq_ids *out,
                          lq_err *e) {
    char *txt = NULL;
    size_t n = 0;
    LQ_TRY(spm_escape(text, len, space_prefix, &txt, &n, e));
    spm_state s = {0};
    llmq_status st = spm_run(t, txt, n, &s, out, e);
    spm_state_free(&s);
    free(txt);
    return st;
}

/* ------------------------------------------------------------ decoding */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* run.c's sscanf(piece, "<0x%02hhX>", &b): "<0x" and one or two hex digits. */
static int byte_piece(const char *p, size_t n) {
    if (n < 4 || p[0] != '<' || p[1] != '0' || p[2] != 'x' || hexval(p[3]) < 0) return -1;
    int v = hexval(p[3]);
    if (n > 4 && hexval(p[4]) >= 0) v = v * 16 + hexval(p[4]);
    return v;
}

size_t lq_spm_piece(const lq_tokenizer *t, int32_t prev, int32_t tok, char *buf, size_t cap) {
    const char *p = lq_tok_str(t, tok);
    size_t n = t->len[tok];
    if (t->src != LQ_SRC_LLAMA2C) {
        uint8_t ty = t->type[tok];
        if (ty == LQ_TT_CONTROL) return 0; /* as llama.cpp prints with special = false */
        if (ty == LQ_TT_UNKNOWN) return lq_tok_copy(buf, cap, "\xe2\x96\x85", 3);
        if (ty != LQ_TT_BYTE) { /* U+2581 -> ' ', then the space after BOS goes */
            size_t o = 0, i = 0;
            if (prev >= 0 && prev == t->bos && n >= 3 && memcmp(p, "\xe2\x96\x81", 3) == 0) i = 3;
            for (; i < n && o < cap; i++) {
                if (i + 3 <= n && memcmp(p + i, "\xe2\x96\x81", 3) == 0) { buf[o++] = ' '; i += 2; }
                else buf[o++] = p[i];
            }
            return o;
        }
    }
    if (prev >= 0 && prev == t->bos && n > 0 && p[0] == ' ') { p++; n--; }
    int b = byte_piece(p, n);
    if (b >= 0) {
        if (cap == 0) return 0;
        buf[0] = (char)b;
        return 1;
    }
    return lq_tok_copy(buf, cap, p, n);
}
