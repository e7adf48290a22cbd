/* all-MiniLM-L6-v2 end to end against sentence-transformers: the WordPiece
 * tokenizer must give the ids HF tokenizers gave, and every sentence
 * embedding must have cosine >= 0.9999 with the reference
 * (tests/fixtures/minilm, written by scripts/ref_minilm.sh). */
#include "core/lq.h"
#include "io/safetensors.h"
#include "model/bert.h"
#include "model/tokenizer.h"
#include "test.h"

#define MODEL_DIR TEST_PATH("models/all-MiniLM-L6-v2")
#define FIX(f) TEST_PATH("tests/fixtures/minilm/" f)
#define MAX_SENT 256
#define DIM 384

/* Splits buf in place into at most max lines; returns the count. */
static int split_lines(char *buf, char **lines, int max) {
    int n = 0;
    for (char *p = buf; *p && n < max;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        lines[n++] = p;
        if (!nl) break;
        p = nl + 1;
    }
    return n;
}

/* Space-separated ids of one line into ids (at most max); returns the count. */
static int parse_ids(const char *line, int32_t *ids, int max) {
    int n = 0;
    char *end;
    for (const char *p = line; n < max; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p) break;
        ids[n++] = (int32_t)v;
    }
    return n;
}

static double cosine(const float *a, const float *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb);
}

/* Tokenizes and embeds every sentence; checks ids and cosines. */
static void check_sentences(lq_bert *bert, const lq_tokenizer *tok, char **sents, char **idl, const float *ref,
                            int n) {
    double cmin = 2, csum = 0, maxdiff = 0, t0 = lq_now();
    int worst = -1, id_mismatch = 0;
    long n_tok = 0;
    float emb[DIM];
    for (int i = 0; i < n; i++) {
        int32_t *ids = NULL, want[512];
        size_t nid = 0;
        lq_err e = {0};
        CHECK_EQ_INT(lq_tok_encode(tok, sents[i], strlen(sents[i]), true, &ids, &nid, &e), LLMQ_OK);
        int nw = parse_ids(idl[i], want, 512);
        bool same = ids && (int)nid == nw && memcmp(ids, want, nid * sizeof *ids) == 0;
        CHECK_MSG(same, "sentence %d: tokens differ from HF (%zu vs %d ids): %s", i, nid, nw, sents[i]);
        id_mismatch += !same;
        n_tok += (long)nid;
        CHECK_EQ_INT(lq_bert_embed(bert, ids, (int)nid, emb, 2, &e), LLMQ_OK);
        free(ids);
        double c = cosine(emb, ref + (size_t)i * DIM, DIM);
        CHECK_MSG(c >= 0.9999, "sentence %d: cosine %.7f: %s", i, c, sents[i]);
        if (c < cmin) cmin = c, worst = i;
        for (int j = 0; j < DIM; j++) maxdiff = fmax(maxdiff, fabs(emb[j] - ref[(size_t)i * DIM + j]));
        csum += c;
    }
    double dt = lq_now() - t0;
    printf("minilm: %d sentences (%ld tokens), tokenizer mismatches %d\n", n, n_tok, id_mismatch);
    printf("minilm: cosine min %.9f (sentence %d) mean %.9f, max |diff| %.3g\n", cmin, worst, csum / n, maxdiff);
    printf("minilm: %.1f sentences/s, %.0f tokens/s (2 threads, tokenize + embed)\n", n / dt, n_tok / dt);
}

/* The first nb sentences as one right-padded batch (HF ids): every row must
 * still match its reference (checks the attention and pooling masks). */
static void check_padded_batch(lq_bert *bert, char **idl, const float *ref, int nb) {
    int32_t ids[16][128] = {{0}};
    uint8_t mask[16][128] = {{0}};
    int T = 0;
    for (int i = 0; i < nb; i++) {
        int n = parse_ids(idl[i], ids[i], 128);
        for (int t = 0; t < n; t++) mask[i][t] = 1;
        T = n > T ? n : T;
    }
    int32_t *tok = malloc(sizeof(int32_t) * nb * T);
    uint8_t *m = malloc((size_t)nb * T);
    float *out = malloc(sizeof(float) * nb * DIM);
    for (int i = 0; i < nb; i++) {
        memcpy(tok + (size_t)i * T, ids[i], sizeof(int32_t) * T);
        memcpy(m + (size_t)i * T, mask[i], (size_t)T);
    }
    lq_err e = {0};
    CHECK_EQ_INT(lq_bert_embed_batch(bert, tok, m, nb, T, out, 2, &e), LLMQ_OK);
    double cmin = 2;
    for (int i = 0; i < nb; i++) cmin = fmin(cmin, cosine(out + (size_t)i * DIM, ref + (size_t)i * DIM, DIM));
    CHECK_MSG(cmin >= 0.9999, "padded batch: min cosine %.7f", cmin);
    printf("minilm: padded batch of %d (T = %d): min cosine %.9f\n", nb, T, cmin);
    free(tok), free(m), free(out);
}

int main(void) {
    char *stext = NULL, *itext = NULL, *etext = NULL, *tjson = NULL;
    size_t slen, ilen, elen, tlen;
    lq_err e = {0};
    CHECK_EQ_INT(llmq_read_file(FIX("sentences.txt"), &stext, &slen, &e), LLMQ_OK);
    CHECK_EQ_INT(llmq_read_file(FIX("token_ids.txt"), &itext, &ilen, &e), LLMQ_OK);
    CHECK_EQ_INT(llmq_read_file(FIX("embeddings.f32"), &etext, &elen, &e), LLMQ_OK);
    CHECK_EQ_INT(llmq_read_file(TEST_PATH("models/all-MiniLM-L6-v2/tokenizer.json"), &tjson, &tlen, &e), LLMQ_OK);
    if (!stext || !itext || !etext || !tjson) {
        fprintf(stderr, "missing fixture or model (run scripts/setup.sh): %s\n", e.msg);
        TEST_END();
    }
    char *sents[MAX_SENT], *idl[MAX_SENT];
    int n = split_lines(stext, sents, MAX_SENT);
    CHECK(n >= 60);
    CHECK_EQ_INT(split_lines(itext, idl, MAX_SENT), n);
    CHECK_EQ_INT(elen, (size_t)n * DIM * sizeof(float));

    lq_hf_dir *d = NULL;
    lq_bert *bert = NULL;
    lq_tokenizer *tok = NULL;
    CHECK_EQ_INT(lq_hf_dir_open(MODEL_DIR, &d, &e), LLMQ_OK);
    if (d) CHECK_EQ_INT(lq_bert_load(d, &bert, &e), LLMQ_OK);
    CHECK_EQ_INT(lq_tok_from_hf_json(tjson, tlen, &tok, &e), LLMQ_OK);
    if (!bert || !tok) fprintf(stderr, "load failed: %s\n", e.msg);
    if (bert && tok && elen == (size_t)n * DIM * sizeof(float)) {
        const lq_bert_hparams *hp = lq_bert_hparams_of(bert);
        CHECK_EQ_INT(hp->n_embd, DIM);
        CHECK_EQ_INT(hp->n_layer, 6);
        CHECK_EQ_INT(hp->n_head, 12);
        CHECK_EQ_INT(hp->n_vocab, 30522);
        float *ref = malloc(elen); /* little-endian host assumed, as the fixture */
        memcpy(ref, etext, elen);
        check_sentences(bert, tok, sents, idl, ref, n);
        check_padded_batch(bert, idl, ref, n < 16 ? n : 16);
        free(ref);
    }
    lq_tok_free(tok);
    lq_bert_free(bert);
    lq_hf_dir_free(d);
    free(stext), free(itext), free(etext), free(tjson);
    TEST_END();
}
