/* Enumerated corruptions of safetensors files and Hugging Face directories:
 * each must fail with one specific status (and never crash under ASan/UBSan).
 * Every case prints one line. */
#include "io/safetensors.h"
#include "test.h"

#include <stdint.h>
#include <unistd.h>

/* Runs one case; prints a line and records a check. */
static void expect(const char *name, llmq_status got, llmq_status want, const llmq_error *e) {
    printf("%-4s %-44s want %-12s got %-12s %s\n", got == want ? "ok" : "FAIL", name, llmq_status_str(want),
           llmq_status_str(got), got == LLMQ_OK ? "" : e->msg);
    CHECK_MSG(got == want, "%s: %d != %d", name, (int)got, (int)want);
}

static llmq_status parse(const uint8_t *buf, size_t len, llmq_error *e) {
    lq_safetensors *s = NULL;
    memset(e, 0, sizeof *e);
    llmq_status st = lq_safetensors_parse(buf, len, &s, e);
    if (st != LLMQ_OK && s != NULL) st = (llmq_status)-1; /* failure must leave *out NULL */
    lq_safetensors_free(s);
    return st;
}

/* Header length field n, then body (body_len bytes of it). */
static void raw_case(const char *name, uint64_t n, const char *body, size_t body_len, size_t file_len,
                     llmq_status want) {
    uint8_t *b = calloc(1, file_len + 16);
    size_t nl = file_len < 8 ? file_len : 8;
    memcpy(b, &n, nl);
    if (file_len > 8) memcpy(b + 8, body, LQ_MIN(body_len, file_len - 8));
    llmq_error e;
    expect(name, parse(b, file_len, &e), want, &e);
    free(b);
}

typedef struct json_case {
    const char *name;
    const char *json;
    llmq_status want;
} json_case;

#define T(dt, shape, offs) "{\"dtype\":" dt ",\"shape\":" shape ",\"data_offsets\":" offs "}"

static const json_case json_cases[] = {
    {"not JSON", "hello", LLMQ_ERR_JSON},
    {"truncated JSON", "{\"a\":{\"dtype\":", LLMQ_ERR_JSON},
    {"trailing bytes after JSON", "{} x", LLMQ_ERR_JSON},
    {"JSON array, not an object", "[1,2]", LLMQ_ERR_FORMAT},
    {"JSON string, not an object", "\"x\"", LLMQ_ERR_FORMAT},
    {"entry is a number", "{\"a\":3}", LLMQ_ERR_FORMAT},
    {"missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", LLMQ_ERR_FORMAT},
    {"dtype not a string", "{\"a\":" T("7", "[1]", "[0,4]") "}", LLMQ_ERR_FORMAT},
    {"missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", LLMQ_ERR_FORMAT},
    {"shape not an array", "{\"a\":" T("\"F32\"", "4", "[0,4]") "}", LLMQ_ERR_FORMAT},
    {"missing data_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", LLMQ_ERR_FORMAT},
    {"data_offsets with 3 values", "{\"a\":" T("\"F32\"", "[1]", "[0,4,8]") "}", LLMQ_ERR_FORMAT},
    {"data_offsets with 1 value", "{\"a\":" T("\"F32\"", "[1]", "[4]") "}", LLMQ_ERR_FORMAT},
    {"data_offsets as strings", "{\"a\":" T("\"F32\"", "[1]", "[\"0\",\"4\"]") "}", LLMQ_ERR_FORMAT},
    {"unknown dtype", "{\"a\":" T("\"Q9\"", "[1]", "[0,4]") "}", LLMQ_ERR_UNSUPPORTED},
    {"BOOL dtype", "{\"a\":" T("\"BOOL\"", "[4]", "[0,4]") "}", LLMQ_ERR_UNSUPPORTED},
    {"F8_E4M3 dtype", "{\"a\":" T("\"F8_E4M3\"", "[4]", "[0,4]") "}", LLMQ_ERR_UNSUPPORTED},
    {"negative dimension", "{\"a\":" T("\"F32\"", "[-1]", "[0,4]") "}", LLMQ_ERR_FORMAT},
    {"fractional dimension", "{\"a\":" T("\"F32\"", "[2.5]", "[0,10]") "}", LLMQ_ERR_FORMAT},
    {"dimension as a string", "{\"a\":" T("\"F32\"", "[\"1\"]", "[0,4]") "}", LLMQ_ERR_FORMAT},
    {"dimension 1e300", "{\"a\":" T("\"F32\"", "[1e300]", "[0,4]") "}", LLMQ_ERR_OVERFLOW},
    {"dimension 2^53", "{\"a\":" T("\"I8\"", "[9007199254740992]", "[0,4]") "}", LLMQ_ERR_OVERFLOW},
    {"5 dimensions", "{\"a\":" T("\"F32\"", "[1,1,1,1,1]", "[0,4]") "}", LLMQ_ERR_UNSUPPORTED},
    {"element count overflows", "{\"a\":" T("\"I8\"", "[4294967296,4294967296]", "[0,4]") "}",
     LLMQ_ERR_OVERFLOW},
    {"byte count overflows", "{\"a\":" T("\"F32\"", "[1048576,1048576,4194304]", "[0,4]") "}",
     LLMQ_ERR_OVERFLOW},
    {"end before begin", "{\"a\":" T("\"F32\"", "[1]", "[8,4]") "}", LLMQ_ERR_FORMAT},
    {"negative offset", "{\"a\":" T("\"F32\"", "[1]", "[-4,0]") "}", LLMQ_ERR_FORMAT},
    {"end past the file", "{\"a\":" T("\"F32\"", "[1]", "[64,68]") "}", LLMQ_ERR_BOUNDS},
    {"empty span past the file", "{\"a\":" T("\"F32\"", "[0]", "[100,100]") "}", LLMQ_ERR_BOUNDS},
    {"huge end offset", "{\"a\":" T("\"F32\"", "[1]", "[0,4503599627370496]") "}", LLMQ_ERR_BOUNDS},
    {"span shorter than dtype x shape", "{\"a\":" T("\"F32\"", "[2,2]", "[0,12]") "}", LLMQ_ERR_SHAPE},
    {"span longer than dtype x shape", "{\"a\":" T("\"F16\"", "[2,2]", "[0,16]") "}", LLMQ_ERR_SHAPE},
    {"overlapping spans", "{\"a\":" T("\"F32\"", "[2]", "[0,8]") ",\"b\":" T("\"F32\"", "[2]", "[4,12]") "}",
     LLMQ_ERR_OVERLAP},
    {"identical spans", "{\"a\":" T("\"F32\"", "[2]", "[8,16]") ",\"b\":" T("\"I8\"", "[8]", "[8,16]") "}",
     LLMQ_ERR_OVERLAP},
    {"span inside another", "{\"a\":" T("\"F32\"", "[8]", "[0,32]") ",\"b\":" T("\"F32\"", "[1]", "[36,40]")
     ",\"c\":" T("\"F32\"", "[1]", "[4,8]") "}", LLMQ_ERR_OVERLAP},
    {"duplicate names", "{\"a\":" T("\"F32\"", "[1]", "[0,4]") ",\"a\":" T("\"F32\"", "[1]", "[4,8]") "}",
     LLMQ_ERR_DUPLICATE},
};

/* JSON nested past cJSON's depth limit must fail cleanly. */
static void deep_nesting_case(void) {
    size_t depth = 5000;
    char *j = malloc(2 * depth + 32);
    size_t n = (size_t)sprintf(j, "{\"__metadata__\":");
    for (size_t i = 0; i < depth; i++) j[n++] = '[';
    for (size_t i = 0; i < depth; i++) j[n++] = ']';
    j[n++] = '}';
    raw_case("JSON nested 5000 deep", n, j, n, 8 + n, LLMQ_ERR_JSON);
    free(j);
}

static void header_cases(void) {
    raw_case("empty file", 0, "", 0, 0, LLMQ_ERR_BOUNDS);
    raw_case("truncated header length (5 bytes)", 2, "", 0, 5, LLMQ_ERR_BOUNDS);
    raw_case("header length past the file", 1000, "{}", 2, 8 + 10, LLMQ_ERR_BOUNDS);
    raw_case("header length one past the file", 3, "{}", 2, 8 + 2, LLMQ_ERR_BOUNDS);
    raw_case("huge header length (2^63)", (uint64_t)1 << 63, "{}", 2, 8 + 2, LLMQ_ERR_OVERFLOW);
    raw_case("header length over the 100 MB cap", 200000000, "{}", 2, 8 + 2, LLMQ_ERR_OVERFLOW);
    raw_case("zero header length", 0, "{}", 2, 8 + 2, LLMQ_ERR_JSON);
    raw_case("header of NUL bytes", 4, "\0\0\0\0", 4, 8 + 4, LLMQ_ERR_JSON);
    deep_nesting_case();
    for (size_t i = 0; i < sizeof json_cases / sizeof json_cases[0]; i++) {
        const json_case *c = &json_cases[i];
        size_t n = strlen(c->json);
        raw_case(c->name, n, c->json, n, 8 + n + 64, c->want); /* 64 data bytes */
    }
}

/* ---- Hugging Face directories ---- */

static void put(const char *dir, const char *name, const void *data, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, len, f);
    fclose(f);
}

static void put_str(const char *dir, const char *name, const char *s) { put(dir, name, s, strlen(s)); }

/* A one-tensor safetensors file holding name (F32 [2]). */
static void put_shard(const char *dir, const char *file, const char *tensor) {
    char json[256];
    snprintf(json, sizeof json, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", tensor);
    uint64_t n = strlen(json);
    uint8_t b[512] = {0};
    memcpy(b, &n, 8);
    memcpy(b + 8, json, n);
    put(dir, file, b, 8 + n + 8);
}

static void unlink_in(const char *dir, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

static const char *const dir_files[] = {"config.json", "model.safetensors", "model.safetensors.index.json",
                                        "a.safetensors", "b.safetensors"};

static void clear_dir(const char *dir) {
    for (size_t i = 0; i < sizeof dir_files / sizeof dir_files[0]; i++) unlink_in(dir, dir_files[i]);
}

static void dir_case(const char *name, const char *dir, llmq_status want) {
    lq_hf_dir *d = NULL;
    llmq_error e = {0};
    llmq_status st = lq_hf_dir_open(dir, &d, &e);
    if (st != LLMQ_OK && d != NULL) st = (llmq_status)-1;
    lq_hf_dir_free(d);
    expect(name, st, want, &e);
    clear_dir(dir);
}

static void index_case(const char *name, const char *dir, const char *index, llmq_status want) {
    put_str(dir, "config.json", "{}");
    put_shard(dir, "a.safetensors", "x");
    put_shard(dir, "b.safetensors", "y");
    put_str(dir, "model.safetensors.index.json", index);
    dir_case(name, dir, want);
}

static void hf_dir_cases(void) {
    char dir[] = "/tmp/llmq_st_badXXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp failed");
        return;
    }
    lq_hf_dir *d = NULL;
    llmq_error e = {0};
    llmq_status st = lq_hf_dir_open("/nonexistent/llmq/dir", &d, &e);
    expect("directory does not exist", st, LLMQ_ERR_IO, &e);
    put_shard(dir, "model.safetensors", "x");
    lq_hf_dir_open(dir, &d, &e);
    lq_hf_dir_free(d);
    d = NULL;
    CHECK_MSG(strstr(e.msg, "config.json") != NULL, "message names the missing file: %s", e.msg);
    dir_case("missing config.json", dir, LLMQ_ERR_IO);
    put_str(dir, "config.json", "{}");
    dir_case("no safetensors and no index", dir, LLMQ_ERR_IO);
    put_str(dir, "config.json", "{}");
    put(dir, "model.safetensors", "\x02\0\0\0\0\0\0\0{}", 5);
    dir_case("model.safetensors header cut short", dir, LLMQ_ERR_BOUNDS);

    index_case("good index (control)", dir, "{\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"b.safetensors\"}}",
               LLMQ_OK);
    index_case("index naming ../ shard", dir, "{\"weight_map\":{\"x\":\"../a.safetensors\"}}", LLMQ_ERR_FORMAT);
    index_case("index naming a shard in a subfolder", dir, "{\"weight_map\":{\"x\":\"sub/a.safetensors\"}}",
               LLMQ_ERR_FORMAT);
    index_case("index naming an absolute path", dir, "{\"weight_map\":{\"x\":\"/etc/passwd\"}}", LLMQ_ERR_FORMAT);
    index_case("index naming an empty shard name", dir, "{\"weight_map\":{\"x\":\"\"}}", LLMQ_ERR_FORMAT);
    index_case("index shard name not a string", dir, "{\"weight_map\":{\"x\":5}}", LLMQ_ERR_FORMAT);
    index_case("index tensor absent from its shard", dir,
               "{\"weight_map\":{\"x\":\"a.safetensors\",\"z\":\"a.safetensors\"}}", LLMQ_ERR_MISSING);
    index_case("index tensor in the other shard", dir,
               "{\"weight_map\":{\"x\":\"b.safetensors\",\"y\":\"b.safetensors\"}}", LLMQ_ERR_MISSING);
    index_case("index naming a missing shard file", dir, "{\"weight_map\":{\"x\":\"c.safetensors\"}}",
               LLMQ_ERR_IO);
    index_case("index is not JSON", dir, "{weight_map", LLMQ_ERR_JSON);
    index_case("index without weight_map", dir, "{\"metadata\":{}}", LLMQ_ERR_FORMAT);
    index_case("index with empty weight_map", dir, "{\"weight_map\":{}}", LLMQ_ERR_FORMAT);
    put_str(dir, "config.json", "{}");
    put_shard(dir, "a.safetensors", "x");
    put_shard(dir, "b.safetensors", "x");
    put_str(dir, "model.safetensors.index.json", "{\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"b.safetensors\"}}");
    dir_case("same tensor in two shards", dir, LLMQ_ERR_DUPLICATE);
    rmdir(dir);
}

int main(void) {
    header_cases();
    hf_dir_cases();
    TEST_END();
}
