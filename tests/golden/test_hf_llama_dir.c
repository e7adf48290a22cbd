/* A Hugging Face llama directory end to end through llmq_model_open:
 * stories260K's weights written as model.safetensors with HF names and
 * HF-ordered Q/K rows (embedding padded to a 600-token BPE vocabulary), a
 * config.json and a tokenizer.json. Its logits must equal those of the
 * llama2.c checkpoint the weights came from. */
#include "io/llama2c.h"
#include "io/mapfile.h"
#include "hf_layout.h"
#include "test.h"

#include <stdio.h>
#include <unistd.h>

enum { VP = 600 }; /* tokens in tests/fixtures/tokenizer/tiny_bpe_tokenizer.json */

typedef struct entry { char name[96]; const float *data; float *owned; int64_t rows, cols; } entry;

static void write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) fwrite(p, 1, n, f), fclose(f);
}

/* Writes dir/model.safetensors from the entries. */
static void write_safetensors(const char *dir, const entry *es, int n) {
    size_t cap = 1 << 16, hl = 0;
    char *hdr = malloc(cap);
    uint64_t off = 0;
    hl += (size_t)snprintf(hdr + hl, cap - hl, "{");
    for (int i = 0; i < n; i++) {
        uint64_t bytes = (uint64_t)(es[i].rows * es[i].cols) * 4;
        if (es[i].rows > 1)
            hl += (size_t)snprintf(hdr + hl, cap - hl, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld,%lld],\"data_offsets\":[%llu,%llu]}",
                                   i ? "," : "", es[i].name, (long long)es[i].rows, (long long)es[i].cols,
                                   (unsigned long long)off, (unsigned long long)(off + bytes));
        else
            hl += (size_t)snprintf(hdr + hl, cap - hl, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld],\"data_offsets\":[%llu,%llu]}",
                                   i ? "," : "", es[i].name, (long long)es[i].cols, (unsigned long long)off,
                                   (unsigned long long)(off + bytes));
        off += bytes;
    }
    hl += (size_t)snprintf(hdr + hl, cap - hl, "}");
    while (hl % 8) hdr[hl++] = ' ';
    char path[256];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "wb");
    uint64_t n8 = hl;
    fwrite(&n8, 8, 1, f);
    fwrite(hdr, 1, hl, f);
    for (int i = 0; i < n; i++) fwrite(es[i].data, 4, (size_t)(es[i].rows * es[i].cols), f);
    fclose(f);
    free(hdr);
}

static int build_dir(const char *dir, const lq_llama2c *c) {
    int hd = c->dim / c->n_heads, n = c->n_tensors;
    entry *es = calloc((size_t)n, sizeof *es);
    for (int i = 0; i < n; i++) {
        const lq_tensor *t = &c->tensors[i];
        hf_name(t->name, es[i].name, sizeof es[i].name);
        es[i].data = t->data;
        es[i].cols = t->ne[0];
        es[i].rows = t->ne[1];
        if (strstr(t->name, "attn_q") || strstr(t->name, "attn_k"))
            es[i].data = es[i].owned = permute_to_hf(t->data, strstr(t->name, "attn_q") ? c->n_heads : c->n_kv_heads, hd, c->dim);
        if (!strcmp(t->name, "token_embd.weight")) { /* pad to the tokenizer's vocabulary */
            es[i].owned = calloc((size_t)VP * c->dim, sizeof(float));
            memcpy(es[i].owned, t->data, (size_t)c->vocab_size * c->dim * sizeof(float));
            es[i].data = es[i].owned;
            es[i].rows = VP;
        }
    }
    write_safetensors(dir, es, n);
    for (int i = 0; i < n; i++) free(es[i].owned);
    free(es);
    char cfg[1024], path[256];
    int len = snprintf(cfg, sizeof cfg,
                       "{\"model_type\":\"llama\",\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":%d,"
                       "\"intermediate_size\":%d,\"num_hidden_layers\":%d,\"num_attention_heads\":%d,"
                       "\"num_key_value_heads\":%d,\"vocab_size\":%d,\"rms_norm_eps\":1e-05,\"rope_theta\":10000.0,"
                       "\"max_position_embeddings\":%d,\"tie_word_embeddings\":true}",
                       c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, VP, c->seq_len);
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_file(path, cfg, (size_t)len);
    lq_mapfile tj;
    if (lq_map_open(TEST_PATH("tests/fixtures/tokenizer/tiny_bpe_tokenizer.json"), &tj, NULL) != LLMQ_OK) return -1;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    write_file(path, tj.data, tj.len);
    lq_map_close(&tj);
    return 0;
}

int main(void) {
    lq_mapfile mf;
    lq_err e = {0};
    CHECK(lq_map_open(SHARED_PATH("models/stories260K/stories260K.bin"), &mf, &e) == LLMQ_OK);
    lq_llama2c *c = NULL;
    CHECK(mf.data && lq_llama2c_parse(mf.data, mf.len, &c, &e) == LLMQ_OK);
    char dir[] = "/tmp/llmq-hf-XXXXXX";
    if (!c || !mkdtemp(dir) || build_dir(dir, c) != 0) {
        CHECK_MSG(0, "cannot build the HF directory");
        TEST_END();
    }
    llmq_model_params p = llmq_model_default_params();
    p.tokenizer_path = SHARED_PATH("models/stories260K/tok512.bin");
    llmq_model *ref = NULL, *hf = NULL;
    llmq_error err = {0};
    CHECK(llmq_model_open(SHARED_PATH("models/stories260K/stories260K.bin"), &p, &ref, &err) == LLMQ_OK);
    CHECK_MSG(llmq_model_open(dir, NULL, &hf, &err) == LLMQ_OK, "%s", err.msg);
    if (ref && hf) {
        llmq_model_info in;
        llmq_model_get_info(hf, &in);
        CHECK(strcmp(in.format, "safetensors") == 0 && in.arch == LLMQ_ARCH_LLAMA && in.n_vocab == VP && in.tied_output);
        int32_t toks[5] = {1, 403, 407, 261, 378};
        float *a = malloc((size_t)5 * 512 * sizeof *a), *b = malloc((size_t)5 * VP * sizeof *b);
        CHECK(llmq_decode(ref, toks, 5, 0, a, 5, &err) == LLMQ_OK);
        CHECK(llmq_decode(hf, toks, 5, 0, b, 5, &err) == LLMQ_OK);
        double d = 0;
        for (int t = 0; t < 5; t++)
            for (int i = 0; i < 512; i++) d = fmax(d, fabs(a[t * 512 + i] - b[t * VP + i]));
        CHECK_MSG(d < 1e-4, "HF directory logits differ from the llama2.c checkpoint by %g", d);
        printf("HF llama directory vs llama2.c checkpoint: max |logit difference| %.3g\n", d);
        size_t n = 0;
        CHECK(llmq_tokenize(hf, "hello world 42", 14, 1, NULL, 0, &n) == LLMQ_OK && n > 0);
        free(a), free(b);
    }
    llmq_model_free(ref);
    llmq_model_free(hf);
    char path[256];
    const char *files[] = {"model.safetensors", "config.json", "tokenizer.json"};
    for (int i = 0; i < 3; i++) snprintf(path, sizeof path, "%s/%s", dir, files[i]), unlink(path);
    rmdir(dir);
    lq_llama2c_free(c);
    lq_map_close(&mf);
    TEST_END();
}
