/* Model-level corruptions of a BERT Hugging Face directory, each of which
 * lq_bert_load must reject with a specific status; and a tiny valid model
 * (written here: config.json + hand-built safetensors) that must load and
 * embed, in F32, F16 and BF16, with or without the "bert." prefix, and with
 * padded batches giving the same embeddings as single sequences. */
#include "core/lq.h"
#include "io/safetensors.h"
#include "model/bert.h"
#include "quant/types.h"
#include "test.h"

#include <stdint.h>
#include <unistd.h>

enum { V = 16, C = 8, L = 2, H = 2, F = 16, P = 12, K = 2, MAXT = 64 };

typedef struct tdesc {
    char name[96];
    int rows, cols; /* PyTorch shape; cols 0: a vector */
    int ln_weight;  /* LayerNorm gamma: values near 1 */
} tdesc;

typedef struct variant {
    const char *config;  /* config.json text; NULL: the valid one */
    const char *drop;    /* tensor left out */
    const char *reshape; /* tensor written with one row too many */
    const char *prefix;  /* "" or "bert." */
    const char *dtype;   /* "F32", "F16", "BF16" */
} variant;

static const char *valid_config =
    "{\"model_type\": \"bert\", \"hidden_act\": \"gelu\", \"vocab_size\": 16, \"hidden_size\": 8,"
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 16,"
    " \"max_position_embeddings\": 12, \"type_vocab_size\": 2, \"layer_norm_eps\": 1e-12}";

static void add(tdesc *ts, int *n, const char *name, int rows, int cols, int ln) {
    snprintf(ts[*n].name, sizeof ts[*n].name, "%s", name);
    ts[*n].rows = rows, ts[*n].cols = cols, ts[*n].ln_weight = ln;
    (*n)++;
}

static void add_pair(tdesc *ts, int *n, const char *prefix, int rows, int cols) {
    char nm[96];
    snprintf(nm, sizeof nm, "%s.weight", prefix);
    add(ts, n, nm, rows, cols, cols == 0);
    snprintf(nm, sizeof nm, "%s.bias", prefix);
    add(ts, n, nm, rows, 0, 0);
}

/* Every tensor of the tiny model; returns the count. */
static int tiny_tensors(tdesc *ts) {
    int n = 0;
    char p[96];
    add(ts, &n, "embeddings.word_embeddings.weight", V, C, 0);
    add(ts, &n, "embeddings.position_embeddings.weight", P, C, 0);
    add(ts, &n, "embeddings.token_type_embeddings.weight", K, C, 0);
    add_pair(ts, &n, "embeddings.LayerNorm", C, 0);
    static const struct { const char *s; int r, c; } sub[] = {
        {"attention.self.query", C, C}, {"attention.self.key", C, C}, {"attention.self.value", C, C},
        {"attention.output.dense", C, C}, {"attention.output.LayerNorm", C, 0},
        {"intermediate.dense", F, C}, {"output.dense", C, F}, {"output.LayerNorm", C, 0}};
    for (int l = 0; l < L; l++)
        for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
            snprintf(p, sizeof p, "encoder.layer.%d.%s", l, sub[i].s);
            add_pair(ts, &n, p, sub[i].r, sub[i].c);
        }
    return n;
}

/* Deterministic values k/64 (exact in F16 and BF16). */
static float value(uint32_t seed, int i, int ln) {
    uint32_t h = (seed * 2654435761u) ^ ((uint32_t)i * 40503u + 0x9e37u);
    h ^= h >> 13, h *= 0x5bd1e995u, h ^= h >> 15;
    int k = (int)(h % 65) - 32;
    return ln ? 1.0f + (float)(k / 4) / 64.0f : (float)k / 64.0f;
}

static void put_value(FILE *f, const char *dtype, float v) {
    if (strcmp(dtype, "F32") == 0) {
        fwrite(&v, 4, 1, f);
        return;
    }
    uint16_t h = strcmp(dtype, "F16") == 0 ? lq_fp32_to_fp16(v) : lq_fp32_to_bf16(v);
    fwrite(&h, 2, 1, f);
}

/* Writes dir/config.json and dir/model.safetensors for variant v. */
static void write_model(const char *dir, const variant *v) {
    static tdesc ts[128];
    int n = tiny_tensors(ts);
    char path[512], hdr[16384];
    size_t es = strcmp(v->dtype, "F32") == 0 ? 4 : 2, off = 0, hl = 0;
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "wb");
    fputs(v->config ? v->config : valid_config, f);
    fclose(f);
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "{\"__metadata__\": {\"format\": \"pt\"}");
    for (int i = 0; i < n; i++) {
        if (v->drop && strcmp(ts[i].name, v->drop) == 0) continue;
        if (v->reshape && strcmp(ts[i].name, v->reshape) == 0) ts[i].rows++;
        size_t nb = (size_t)ts[i].rows * (ts[i].cols ? ts[i].cols : 1) * es;
        char shape[32];
        if (ts[i].cols) snprintf(shape, sizeof shape, "[%d, %d]", ts[i].rows, ts[i].cols);
        else snprintf(shape, sizeof shape, "[%d]", ts[i].rows);
        hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl,
                               ", \"%s%s\": {\"dtype\": \"%s\", \"shape\": %s, \"data_offsets\": [%zu, %zu]}",
                               v->prefix, ts[i].name, v->dtype, shape, off, off + nb);
        off += nb;
    }
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "}");
    while (hl % 8) hdr[hl++] = ' ';
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    f = fopen(path, "wb");
    uint64_t n_hdr = hl; /* little-endian host */
    fwrite(&n_hdr, 8, 1, f);
    fwrite(hdr, 1, hl, f);
    for (int i = 0; i < n; i++) {
        if (v->drop && strcmp(ts[i].name, v->drop) == 0) continue;
        int cnt = ts[i].rows * (ts[i].cols ? ts[i].cols : 1);
        for (int j = 0; j < cnt; j++) put_value(f, v->dtype, value((uint32_t)i + 1, j, ts[i].ln_weight));
    }
    fclose(f);
}

/* Writes the variant, opens and loads it; the directory is freed at once
 * (the model owns F32 copies of its weights). */
static llmq_status load_variant(const char *dir, const variant *v, lq_bert **out, lq_err *e) {
    write_model(dir, v);
    lq_hf_dir *d = NULL;
    *out = NULL;
    llmq_status st = lq_hf_dir_open(dir, &d, e);
    if (st == LLMQ_OK) st = lq_bert_load(d, out, e);
    lq_hf_dir_free(d);
    return st;
}

static void expect_fail(const char *dir, const variant *v, llmq_status want, const char *in_msg) {
    lq_err e = {0};
    lq_bert *b = NULL;
    llmq_status st = load_variant(dir, v, &b, &e);
    CHECK_MSG(st == want, "got %s (%s), want %s", llmq_status_str(st), e.msg, llmq_status_str(want));
    CHECK(b == NULL);
    if (in_msg) CHECK_MSG(strstr(e.msg, in_msg) != NULL, "'%s' not in message '%s'", in_msg, e.msg);
    printf("  rejected (%s): %s\n", llmq_status_str(st), e.msg);
    lq_bert_free(b);
}

static const variant base = {NULL, NULL, NULL, "", "F32"};

static void test_corruptions(const char *dir) {
    variant v = base;
    v.drop = "encoder.layer.1.output.dense.bias";
    expect_fail(dir, &v, LLMQ_ERR_MISSING, "encoder.layer.1.output.dense.bias");
    v = base, v.reshape = "encoder.layer.0.intermediate.dense.weight";
    expect_fail(dir, &v, LLMQ_ERR_SHAPE, "expected [16, 8]");
    v = base, v.reshape = "embeddings.LayerNorm.bias";
    expect_fail(dir, &v, LLMQ_ERR_SHAPE, "embeddings.LayerNorm.bias");
    static const struct { const char *from, *to; llmq_status st; } cfg[] = {
        {"\"num_attention_heads\": 2", "\"num_attention_heads\": 3", LLMQ_ERR_SHAPE},
        {"\"model_type\": \"bert\"", "\"model_type\": \"gpt9\"", LLMQ_ERR_UNSUPPORTED},
        {"\"hidden_act\": \"gelu\"", "\"hidden_act\": \"relu\"", LLMQ_ERR_UNSUPPORTED},
        {"\"hidden_size\": 8", "\"hidden_size\": -8", LLMQ_ERR_FORMAT},
        {"\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1e9", LLMQ_ERR_FORMAT},
        {"\"intermediate_size\": 16", "\"intermediate_size\": 16.5", LLMQ_ERR_FORMAT},
        {"\"vocab_size\": 16", "\"vocab_size\": \"16\"", LLMQ_ERR_FORMAT},
        {"\"layer_norm_eps\": 1e-12", "\"layer_norm_eps\": -1", LLMQ_ERR_FORMAT},
        {"\"hidden_size\": 8,", "", LLMQ_ERR_MISSING},
        {"\"model_type\": \"bert\",", "", LLMQ_ERR_MISSING},
        {"\"type_vocab_size\": 2", "\"type_vocab_size\": 3", LLMQ_ERR_SHAPE},
        {"1e-12}", "1e-12", LLMQ_ERR_JSON},
        {"{\"model_type\"", "[{\"model_type\"", LLMQ_ERR_JSON},
    };
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        char text[1024], *at = strstr(valid_config, cfg[i].from);
        CHECK(at != NULL);
        if (!at) continue;
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - valid_config), valid_config, cfg[i].to,
                 at + strlen(cfg[i].from));
        v = base, v.config = text;
        expect_fail(dir, &v, cfg[i].st, NULL);
    }
}

static double norm(const float *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

/* Padded batch rows must match single-sequence embeddings. */
static void test_batch(lq_bert *b, const float *single) {
    static const int32_t toks[2][6] = {{1, 5, 3, 2, 7, 7}, {1, 9, 4, 11, 6, 2}};
    static const uint8_t mask[2][6] = {{1, 1, 1, 1, 0, 0}, {1, 1, 1, 1, 1, 1}};
    float out[2 * C], one[C];
    lq_err e = {0};
    CHECK_EQ_INT(lq_bert_embed_batch(b, &toks[0][0], &mask[0][0], 2, 6, out, 2, &e), LLMQ_OK);
    CHECK_EQ_INT(lq_bert_embed(b, toks[1], 6, one, 1, &e), LLMQ_OK);
    for (int i = 0; i < C; i++) {
        CHECK_NEAR(out[i], single[i], 1e-5);
        CHECK_NEAR(out[C + i], one[i], 1e-5);
    }
}

static void test_valid(const char *dir) {
    static const int32_t toks[4] = {1, 5, 3, 2};
    float ref[C], out[C];
    static const char *dtypes[] = {"F32", "F16", "BF16"}, *prefixes[] = {"", "bert."};
    for (int pi = 0; pi < 2; pi++)
        for (int di = 0; di < 3; di++) {
            variant v = base;
            v.prefix = prefixes[pi], v.dtype = dtypes[di];
            lq_err e = {0};
            lq_bert *b = NULL;
            CHECK_MSG(load_variant(dir, &v, &b, &e) == LLMQ_OK, "%s%s: %s", v.prefix, v.dtype, e.msg);
            if (!b) continue;
            CHECK_EQ_INT(lq_bert_hparams_of(b)->n_head, H);
            CHECK_EQ_INT(lq_bert_hparams_of(b)->n_pos, P);
            for (int i = 0; i < C; i++) out[i] = NAN;
            CHECK_EQ_INT(lq_bert_embed(b, toks, 4, out, 2, &e), LLMQ_OK);
            CHECK_NEAR(norm(out, C), 1.0, 1e-5);
            if (pi == 0 && di == 0) memcpy(ref, out, sizeof ref), test_batch(b, ref);
            /* the same values in every dtype: the same embedding */
            for (int i = 0; i < C; i++) CHECK_NEAR(out[i], ref[i], 1e-6);
            int32_t bad[3] = {1, V, 2}, many[MAXT];
            for (int i = 0; i < MAXT; i++) many[i] = i % V;
            CHECK_EQ_INT(lq_bert_embed(b, bad, 3, out, 1, &e), LLMQ_ERR_ARG);
            CHECK_EQ_INT(lq_bert_embed(b, toks, 0, out, 1, &e), LLMQ_ERR_ARG);
            CHECK_EQ_INT(lq_bert_embed(b, many, MAXT, out, 1, &e), LLMQ_OK); /* truncated to P */
            CHECK_NEAR(norm(out, C), 1.0, 1e-5);
            CHECK_EQ_INT(lq_bert_embed_batch(b, many, NULL, 1, P + 1, out, 1, &e), LLMQ_ERR_ARG);
            lq_bert_free(b);
        }
}

int main(void) {
    char dir[] = "/tmp/lq_bert_test_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    test_corruptions(dir);
    test_valid(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    rmdir(dir);
    lq_bert_free(NULL);
    TEST_END();
}
