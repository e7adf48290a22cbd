/* safetensors parser on small files built in memory, the MiniLM model
 * directory, and a sharded directory written to a temporary folder. */
#include "io/safetensors.h"
#include "quant/types.h"
#include "test.h"

#include <stdint.h>
#include <unistd.h>

/* Float i of a tensor; data in a safetensors file need not be aligned. */
static float f32_at(const lq_tensor *t, size_t i) {
    float f;
    memcpy(&f, (const uint8_t *)t->data + 4 * i, 4);
    return f;
}

/* u64 header length + JSON + data; *len gets the total. Caller frees. */
static uint8_t *st_build(const char *json, const void *data, size_t data_len, size_t *len) {
    uint64_t n = strlen(json);
    *len = 8 + n + data_len;
    uint8_t *b = malloc(*len ? *len : 1);
    memcpy(b, &n, 8);
    memcpy(b + 8, json, n);
    if (data_len) memcpy(b + 8 + n, data, data_len);
    return b;
}

static void test_basic(void) {
    float data[8] = {1, 2, 3, 4, 5, 6, 0, 0}; /* a (2, 3) F32, then b (4) F16 */
    const char *json = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                       "\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]}}";
    size_t len;
    uint8_t *buf = st_build(json, data, sizeof data, &len);
    lq_safetensors *s = NULL;
    llmq_error e = {0};
    CHECK_EQ_INT(lq_safetensors_parse(buf, len, &s, &e), LLMQ_OK);
    if (s) {
        size_t start = 8 + strlen(json);
        CHECK_EQ_INT(s->n_tensors, 2);
        CHECK_EQ_INT(s->data_start, start);
        const lq_tensor *a = &s->tensors[0], *b = &s->tensors[1];
        CHECK(strcmp(a->name, "a") == 0 && strcmp(b->name, "b") == 0);
        CHECK_EQ_INT(a->type, LQ_TYPE_F32);
        CHECK_EQ_INT(a->n_dims, 2);
        CHECK_EQ_INT(a->ne[0], 3); /* ggml order: last safetensors dim first */
        CHECK_EQ_INT(a->ne[1], 2);
        CHECK_EQ_INT(a->ne[2], 1);
        CHECK_EQ_INT(a->nbytes, 24);
        CHECK(a->data == buf + start);
        CHECK_NEAR(f32_at(a, 5), 6.0, 0);
        CHECK_EQ_INT(b->type, LQ_TYPE_F16);
        CHECK_EQ_INT(b->n_dims, 1);
        CHECK_EQ_INT(b->ne[0], 4);
        CHECK(b->data == buf + start + 24);
    }
    lq_safetensors_free(s);
    free(buf);
}

static void test_dtypes_and_dims(void) {
    uint8_t data[128] = {0};
    const char *json = "{"
                       "\"bf\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                       "\"i8\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[4,8]},"
                       "\"i16\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[8,12]},"
                       "\"i32\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[12,16]},"
                       "\"i64\":{\"dtype\":\"I64\",\"shape\":[1,1],\"data_offsets\":[16,24]},"
                       "\"f64\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[24,32]},"
                       "\"d4\":{\"dtype\":\"I8\",\"shape\":[1,2,3,4],\"data_offsets\":[32,56]},"
                       "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,7],\"data_offsets\":[56,56]}"
                       "}    "; /* trailing spaces: writers pad the header */
    const uint32_t types[] = {LQ_TYPE_BF16, LQ_TYPE_I8, LQ_TYPE_I16, LQ_TYPE_I32,
                              LQ_TYPE_I64,  LQ_TYPE_F64, LQ_TYPE_I8, LQ_TYPE_F32};
    size_t len;
    uint8_t *buf = st_build(json, data, 64, &len);
    lq_safetensors *s = NULL;
    llmq_error e = {0};
    CHECK_EQ_INT(lq_safetensors_parse(buf, len, &s, &e), LLMQ_OK);
    if (s) {
        CHECK_EQ_INT(s->n_tensors, 8);
        for (int i = 0; i < 8 && i < (int)s->n_tensors; i++) CHECK_EQ_INT(s->tensors[i].type, types[i]);
        const lq_tensor *f64 = &s->tensors[5], *d4 = &s->tensors[6], *em = &s->tensors[7];
        CHECK_EQ_INT(f64->n_dims, 1); /* scalar */
        CHECK_EQ_INT(f64->ne[0], 1);
        CHECK_EQ_INT(s->tensors[4].n_dims, 2);
        CHECK_EQ_INT(d4->n_dims, 4);
        CHECK(d4->ne[0] == 4 && d4->ne[1] == 3 && d4->ne[2] == 2 && d4->ne[3] == 1);
        CHECK_EQ_INT(em->nbytes, 0);
        CHECK(em->ne[0] == 7 && em->ne[1] == 0);
    }
    lq_safetensors_free(s);
    free(buf);

    buf = st_build("{}", NULL, 0, &len); /* no tensors at all is valid */
    CHECK_EQ_INT(lq_safetensors_parse(buf, len, &s, &e), LLMQ_OK);
    if (s) CHECK_EQ_INT(s->n_tensors, 0);
    lq_safetensors_free(s);
    free(buf);
}

/* Reads n floats at off of path with stdio, independent of the parser. */
static void read_floats(const char *path, long off, float *out, size_t n) {
    FILE *f = fopen(path, "rb");
    memset(out, 0, n * sizeof *out);
    if (!f) return;
    if (fseek(f, off, SEEK_SET) == 0 && fread(out, sizeof *out, n, f) != n) memset(out, 0, n * sizeof *out);
    fclose(f);
}

static void test_minilm(void) {
    lq_hf_dir *d = NULL;
    llmq_error e = {0};
    llmq_status st = lq_hf_dir_open(TEST_PATH("models/all-MiniLM-L6-v2"), &d, &e);
    CHECK_MSG(st == LLMQ_OK, "%s", e.msg);
    if (!d) return;
    CHECK_EQ_INT(d->n_files, 1);
    /* python: json.loads(header) has 105 keys, one of them __metadata__ */
    CHECK_EQ_INT(d->n_tensors, 104);
    CHECK(d->config_json && strstr(d->config_json, "\"bert\"") != NULL);
    CHECK_EQ_INT(d->config_len, strlen(d->config_json));
    const lq_tensor *w = lq_hf_dir_find(d, "embeddings.word_embeddings.weight");
    CHECK(w != NULL);
    if (w) {
        CHECK_EQ_INT(w->type, LQ_TYPE_F32);
        CHECK_EQ_INT(w->n_dims, 2);
        CHECK_EQ_INT(w->ne[0], 384);
        CHECK_EQ_INT(w->ne[1], 30522);
        CHECK_EQ_INT(w->nbytes, 384ull * 30522 * 4);
        /* header says data_offsets [796672, ...]; header length 11408 */
        CHECK(w->data == d->maps[0].data + d->files[0]->data_start + 796672);
        float ref[4];
        read_floats(TEST_PATH("models/all-MiniLM-L6-v2/model.safetensors"), 8 + 11408 + 796672, ref, 4);
        CHECK(memcmp(ref, w->data, sizeof ref) == 0);
    }
    const lq_tensor *pos = lq_hf_dir_find(d, "embeddings.position_ids");
    CHECK(pos && pos->type == LQ_TYPE_I64);
    const lq_tensor *q = lq_hf_dir_find(d, "encoder.layer.5.attention.self.query.weight");
    CHECK(q && q->ne[0] == 384 && q->ne[1] == 384);
    CHECK(lq_hf_dir_find(d, "no.such.tensor") == NULL);
    CHECK(lq_hf_dir_find(d, "") == NULL);
    /* every tensor can be found by its own name */
    int found = 0;
    for (uint64_t i = 0; i < d->n_tensors; i++) found += lq_hf_dir_find(d, d->tensors[i].name) == &d->tensors[i];
    CHECK_EQ_INT(found, d->n_tensors);
    lq_hf_dir_free(d);
}

static void write_file(const char *dir, const char *name, const void *data, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, len, f);
    fclose(f);
}

static void remove_file(const char *dir, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

static void test_sharded(void) {
    char dir[] = "/tmp/llmq_st_shardXXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp failed");
        return;
    }
    const char *cfg = "{\"model_type\":\"llama\"}";
    const char *index = "{\"metadata\":{\"total_size\":40},\"weight_map\":{"
                        "\"x.weight\":\"model-00001-of-00002.safetensors\","
                        "\"y.weight\":\"model-00001-of-00002.safetensors\","
                        "\"z.weight\":\"model-00002-of-00002.safetensors\"}}";
    float d1[6] = {1, 2, 3, 4, 5, 6}, d2[4] = {7, 8, 9, 10};
    size_t l1, l2;
    uint8_t *s1 = st_build("{\"x.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                           "\"y.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}",
                           d1, sizeof d1, &l1);
    uint8_t *s2 = st_build("{\"z.weight\":{\"dtype\":\"F32\",\"shape\":[4,1],\"data_offsets\":[0,16]}}", d2,
                           sizeof d2, &l2);
    write_file(dir, "config.json", cfg, strlen(cfg));
    write_file(dir, "model.safetensors.index.json", index, strlen(index));
    write_file(dir, "model-00001-of-00002.safetensors", s1, l1);
    write_file(dir, "model-00002-of-00002.safetensors", s2, l2);
    lq_hf_dir *d = NULL;
    llmq_error e = {0};
    llmq_status st = lq_hf_dir_open(dir, &d, &e);
    CHECK_MSG(st == LLMQ_OK, "%s", e.msg);
    if (d) {
        CHECK_EQ_INT(d->n_files, 2);
        CHECK_EQ_INT(d->n_tensors, 3);
        const lq_tensor *x = lq_hf_dir_find(d, "x.weight"), *y = lq_hf_dir_find(d, "y.weight");
        const lq_tensor *z = lq_hf_dir_find(d, "z.weight");
        CHECK(x && y && z);
        if (x && y && z) {
            CHECK_NEAR(f32_at(x, 3), 4, 0);
            CHECK_NEAR(f32_at(y, 1), 6, 0);
            CHECK_NEAR(f32_at(z, 0), 7, 0);
            CHECK(z->ne[0] == 1 && z->ne[1] == 4);
        }
        CHECK(strcmp(d->config_json, cfg) == 0);
    }
    lq_hf_dir_free(d);
    remove_file(dir, "config.json");
    remove_file(dir, "model.safetensors.index.json");
    remove_file(dir, "model-00001-of-00002.safetensors");
    remove_file(dir, "model-00002-of-00002.safetensors");
    rmdir(dir);
    free(s1);
    free(s2);
}

int main(void) {
    test_basic();
    test_dtypes_and_dims();
    test_minilm();
    test_sharded();
    lq_hf_dir_free(NULL);
    lq_safetensors_free(NULL);
    TEST_END();
}
